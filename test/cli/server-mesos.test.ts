import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mesosFollowConfig, trustedProxies } from '../../src/cli/server-mesos.ts';
import { isTesseraError } from '../../src/errors.ts';

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
  const base = { taskLoginWindow: '10m' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-follow-'));
    secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${PASSWORD}\n`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is off without --mesos-master', async () => {
    assert.equal(await mesosFollowConfig(base), undefined);
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
});
