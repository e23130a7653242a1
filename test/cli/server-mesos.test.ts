import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mesosFollowConfig, trustedProxies } from '../../src/cli/server-mesos.ts';
import { isTesseraError } from '../../src/errors.ts';
import { runTessera, startServerProcess } from '../helpers/cli.ts';
import { request, startTestServer } from '../helpers/server.ts';

const PASSWORD = 'canary-follow-password-5e1c';

// Asserts that `run` fails with CONFIG_INVALID, a message matching `pattern`, and no password.
async function rejects(run: () => unknown, pattern: RegExp) {
  await assert.rejects(
    async () => run(),
    (error: unknown) => {
      assert.ok(isTesseraError(error, 'CONFIG_INVALID'), String(error));
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes(PASSWORD), error.message);
      assert.ok(!error.message.includes('hunter2'), error.message);
      return true;
    },
  );
}

describe('tessera server options of following a Mesos master', () => {
  let dir: string;
  let secretFile: string;
  const base = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-follow-'));
    secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${PASSWORD}\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is off without --mesos-master', async () => {
    assert.equal(await mesosFollowConfig(base), undefined);
  });

  it('takes the default window when none is given', async () => {
    const config = await mesosFollowConfig({ mesosMaster: 'http://m1.example:5050' });
    assert.equal(config?.loginWindowSeconds, 600);
  });

  it('rejects a window without --mesos-master', async () => {
    await rejects(
      () => mesosFollowConfig({ taskLoginWindow: '10m' }),
      /^--task-login-window needs --mesos-master, because tasks log in only to a server/,
    );
  });

  it('reads the masters, the principal and the window', async () => {
    const config = await mesosFollowConfig({
      ...base,
      mesosMaster: 'http://m1.example:5050, https://m2.example/mesos/',
      mesosPrincipal: 'tessera',
      mesosSecretFile: secretFile,
      taskLoginWindow: '2m30s',
    });
    assert.deepEqual(
      config?.masters.map((url) => url.href),
      ['http://m1.example:5050/', 'https://m2.example/mesos/'],
    );
    const expected = `Basic ${Buffer.from(`tessera:${PASSWORD}`).toString('base64')}`;
    assert.equal(config?.authorization, expected);
    assert.equal(config?.loginWindowSeconds, 150);
  });

  it('names the flag of each mistake', async () => {
    const master = { ...base, mesosMaster: 'http://m1.example:5050' };
    await rejects(
      () => mesosFollowConfig({ ...base, mesosPrincipal: 'tessera' }),
      /--mesos-principal and --mesos-secret-file need --mesos-master/,
    );
    await rejects(() => mesosFollowConfig({ ...base, mesosMaster: ' , ' }), /names no URL/);
    await rejects(
      () => mesosFollowConfig({ ...base, mesosMaster: 'http://a.example,ftp://b.example' }),
      /^URL 2 of --mesos-master must be an http or https URL/,
    );
    await rejects(
      () => mesosFollowConfig({ ...base, mesosMaster: 'http://m1.example:5050,http://m2:99999' }),
      /^URL 2 of --mesos-master has an invalid port; give a port from 1 to 65535/,
    );
    await rejects(
      () => mesosFollowConfig({ ...base, mesosMaster: 'http://m1.example:0' }),
      /^URL 1 of --mesos-master has an invalid port/,
    );
    await rejects(
      () => mesosFollowConfig({ ...base, mesosMaster: 'http://ops:hunter2@m1.example' }),
      /must not hold a user or password; give the principal with --mesos-principal/,
    );
    await rejects(
      () => mesosFollowConfig({ ...master, mesosSecretFile: secretFile }),
      /--mesos-secret-file needs --mesos-principal/,
    );
    await rejects(
      () => mesosFollowConfig({ ...master, mesosPrincipal: 'tessera' }),
      /--mesos-principal needs --mesos-secret-file/,
    );
    await rejects(
      () => mesosFollowConfig({ ...master, mesosPrincipal: 'a:b', mesosSecretFile: secretFile }),
      /^--mesos-principal must not contain ':'/,
    );
    await rejects(
      () =>
        mesosFollowConfig({
          ...master,
          mesosPrincipal: 'tessera',
          mesosSecretFile: join(dir, 'missing'),
        }),
      /could not read --mesos-secret-file .*missing \(ENOENT\)/,
    );
    await rejects(
      () => mesosFollowConfig({ ...master, taskLoginWindow: 'soon' }),
      /--task-login-window/,
    );
    await rejects(
      () => mesosFollowConfig({ ...master, taskLoginWindow: '5s' }),
      /--task-login-window must be at least 10s/,
    );
  });

  it('reads a window without a unit as seconds', async () => {
    const master = { mesosMaster: 'http://m1.example:5050' };
    const config = await mesosFollowConfig({ ...master, taskLoginWindow: '90' });
    assert.equal(config?.loginWindowSeconds, 90);
    await rejects(
      () => mesosFollowConfig({ ...master, taskLoginWindow: 'soon' }),
      /^--task-login-window 'soon' is not a duration; give a whole number of seconds, or one with a unit s, m, h or d/,
    );
  });

  it('reads a second line of the secret file as a mistake', async () => {
    const twoLines = join(dir, 'two-lines');
    await writeFile(twoLines, `${PASSWORD}\nmore\n`);
    await rejects(
      () =>
        mesosFollowConfig({
          ...base,
          mesosMaster: 'http://m1.example:5050',
          mesosPrincipal: 'tessera',
          mesosSecretFile: twoLines,
        }),
      /--mesos-secret-file .* contains a control character/,
    );
  });

  it('splits --trust-proxy', async () => {
    assert.equal(trustedProxies(undefined), undefined);
    assert.deepEqual(trustedProxies('127.0.0.1, 10.0.0.0/8'), ['127.0.0.1', '10.0.0.0/8']);
    await rejects(() => trustedProxies(' , '), /--trust-proxy names no address/);
  });

  it('names an invalid --trust-proxy entry', async () => {
    const notAddress = /is not an IP address, a CIDR range such as 10\.0\.0\.0\/8, or loopback/;
    await rejects(() => trustedProxies('127.0.0.1, abc'), /^--trust-proxy entry 'abc' /);
    await rejects(() => trustedProxies('abc'), notAddress);
    await rejects(() => trustedProxies('[::1]'), notAddress);
    await rejects(() => trustedProxies('127.1'), notAddress);
    await rejects(
      () => trustedProxies('127.0.0.1/33'),
      /^--trust-proxy entry '127\.0\.0\.1\/33' has an invalid prefix length; give 1 to 32/,
    );
    await rejects(() => trustedProxies('0.0.0.0/0'), /invalid prefix length; give 1 to 32/);
    await rejects(() => trustedProxies('::1/129'), /invalid prefix length; give 1 to 128$/);
    await rejects(() => trustedProxies('10.0.0.0/255.0.255.0'), /invalid prefix length/);
    await rejects(() => trustedProxies('10.0.0.0/'), /invalid prefix length/);
  });
});

// Entries of every accepted form; Fastify compiles them all when the server is built.
const ACCEPTED_PROXIES = [
  '127.0.0.1',
  '10.0.0.0/8',
  '10.0.0.0/255.0.0.0',
  '192.168.1.7/32',
  '::1',
  'fd00::/8',
  '::ffff:10.0.0.1',
  'fe80::1%eth0',
  'loopback',
  'linklocal',
  'uniquelocal',
];

describe('tessera server without --mesos-master', () => {
  const env = { PATH: process.env.PATH, HOME: '/nonexistent' };

  for (const [setting, args, extra] of [
    ['--task-login-window', ['--task-login-window', '5m'], {}],
    ['TESSERA_TASK_LOGIN_WINDOW', [], { TESSERA_TASK_LOGIN_WINDOW: '5m' }],
  ] as const) {
    it(`rejects ${setting}`, async () => {
      const ran = await runTessera(['server', '--dev', '--port', '0', ...args], {
        env: { ...env, ...extra },
        timeoutMs: 15_000,
      });
      assert.equal(ran.code, 2, ran.stderr);
      assert.match(ran.stderr, /^tessera: --task-login-window needs --mesos-master/);
      assert.doesNotMatch(ran.stdout.toString(), /listening/);
    });
  }

  it('serves with --trust-proxy and an empty window variable', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tessera-trust-proxy-'));
    const server = await startServerProcess(['--dev', '--trust-proxy', '127.0.0.1'], {
      ...env,
      HOME: home,
      TESSERA_TASK_LOGIN_WINDOW: '',
    });
    try {
      const health = await fetch(`${server.address}/v1/sys/health`);
      assert.equal(health.status, 200);
    } finally {
      await server.stop();
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('tessera server --trust-proxy', () => {
  it('rejects an invalid entry before it starts', async () => {
    for (const entry of ['abc', '127.0.0.1/33']) {
      const ran = await runTessera(['server', '--dev', '--port', '0', '--trust-proxy', entry], {
        env: { PATH: process.env.PATH, HOME: '/nonexistent' },
        timeoutMs: 15_000,
      });
      assert.equal(ran.code, 2, ran.stderr);
      assert.match(ran.stderr, /^tessera: --trust-proxy entry '/);
      assert.ok(ran.stderr.includes(`'${entry}'`), ran.stderr);
      assert.doesNotMatch(ran.stderr, /internal error/);
      assert.doesNotMatch(ran.stdout.toString(), /listening/);
    }
  });

  it('serves with every accepted form', async () => {
    const trustProxy = trustedProxies(ACCEPTED_PROXIES.join(','));
    assert.deepEqual(trustProxy, ACCEPTED_PROXIES);
    const server = await startTestServer({
      trustProxy,
      failureLimit: { maxFailures: 1, windowMs: 60_000 },
    });
    try {
      // The test client connects from 127.0.0.1, a trusted proxy, so the failure limit
      // counts the address that X-Forwarded-For names.
      const from = (address: string) => ({ 'x-forwarded-for': address, 'x-vault-token': 'x' });
      const lookup = (address: string) =>
        fetch(`${server.address}/v1/auth/token/lookup-self`, { headers: from(address) });
      assert.equal((await lookup('203.0.113.7')).status, 403);
      assert.equal((await lookup('203.0.113.7')).status, 429);
      assert.equal((await lookup('203.0.113.8')).status, 403);
      const health = await request(server, 'GET', '/v1/sys/health', undefined, undefined);
      assert.equal(health.status, 200);
    } finally {
      await server.close();
    }
  });
});
