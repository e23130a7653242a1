import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runTessera } from '../helpers/cli.ts';
import { type FakeCluster, startFakeCluster } from '../helpers/fake-mesos.ts';

const ENABLED_FLAGS = {
  isolation: 'filesystem/linux,volume/secret',
  launcher: 'linux',
  secret_resolver: 'org_example_VaultResolver',
  containerizers: 'mesos',
};

describe('tessera doctor as a command', () => {
  let cluster: FakeCluster;
  const env = { PATH: process.env.PATH, HOME: '/nonexistent' };

  before(async () => {
    cluster = await startFakeCluster({
      masterVersion: '1.11.0',
      agents: [
        { id: 'S0-old', version: '1.3.0', flags: { containerizers: 'mesos' } },
        { id: 'S1-full', version: '1.11.0', flags: ENABLED_FLAGS },
        { id: 'S2-denied', version: '1.11.0', flags: {}, flagsStatus: 403 },
      ],
    });
  });
  after(() => cluster.close());

  test('--format json reports each agent', async () => {
    const ran = await runTessera(['doctor', '--master', cluster.masterUrl, '--format', 'json'], {
      env,
    });
    assert.equal(ran.code, 0, ran.stderr);
    const report = JSON.parse(ran.stdout.toString());
    const byId = Object.fromEntries(report.agents.map((a: { id: string }) => [a.id, a]));
    assert.equal(byId['S0-old'].envSecrets, 'no');
    assert.equal(byId['S1-full'].envSecrets, 'yes');
    assert.equal(byId['S1-full'].fileSecrets, 'yes');
    assert.ok(byId['S2-denied'], 'the agent whose flags are forbidden is still listed');
  });

  test('the text report gives one line per problem, not a stack trace', async () => {
    const ran = await runTessera(['doctor', '--master', cluster.masterUrl], { env });
    const text = ran.stdout.toString() + ran.stderr;
    assert.match(text, /S2-denied/);
    assert.match(text, /403/);
    assert.doesNotMatch(text, /\n\s+at /);
  });

  test('--timeout-ms over 2^31 - 1 is a usage error', async () => {
    const ran = await runTessera(
      ['doctor', '--master', cluster.masterUrl, '--timeout-ms', '2147483648'],
      { env },
    );
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /--timeout-ms must be a whole number from 1 to 2147483647/);
    assert.match(ran.stderr, /got '2147483648'/);
    assert.doesNotMatch(ran.stderr, /TimeoutOverflowWarning/);
  });

  test('--timeout-ms of 2^31 - 1 is accepted', async () => {
    const ran = await runTessera(
      ['doctor', '--master', cluster.masterUrl, '--timeout-ms', '2147483647'],
      { env },
    );
    assert.equal(ran.code, 0, ran.stderr);
    assert.doesNotMatch(ran.stderr, /TimeoutOverflowWarning/);
  });

  test('--max-body-mib out of range is a usage error', async () => {
    for (const value of ['0', '512', 'lots']) {
      const ran = await runTessera(
        ['doctor', '--master', cluster.masterUrl, '--max-body-mib', value],
        { env },
      );
      assert.equal(ran.code, 1, value);
      assert.match(ran.stderr, /--max-body-mib must be a whole number from 1 to 511/, value);
    }
  });

  test('a /state over --max-body-mib is one line', async () => {
    const large = `{"slaves": [], "padding": "${'x'.repeat(2 * 1024 * 1024)}"}`;
    const server = createServer((request, response) => {
      const body = request.url === '/state' ? large : '{"version": "1.11.0"}';
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ran = await runTessera(['doctor', '--master', url, '--max-body-mib', '1'], { env });
      assert.equal(ran.code, 2);
      assert.equal(ran.stderr.trim().split('\n').length, 1);
      assert.match(ran.stderr, /\/state sent a response larger than 1 MiB; raise --max-body-mib/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('an agent given as --master is one clear line', async () => {
    const agentState = { version: '1.11.0', id: 'S1', frameworks: [], flags: {} };
    const agent = await startFakeCluster({
      masterVersion: '1.11.0',
      agents: [],
      stateBody: agentState,
    });
    try {
      const ran = await runTessera(['doctor', '--master', agent.masterUrl], { env });
      assert.equal(ran.code, 2);
      assert.equal(ran.stdout.length, 0);
      assert.equal(ran.stderr.trim().split('\n').length, 1);
      assert.match(ran.stderr, /did not return a Mesos master's \/state: field slaves is missing/);
    } finally {
      await agent.close();
    }
  });

  test('an unreachable master is one clear line', async () => {
    const ran = await runTessera(['doctor', '--master', 'http://127.0.0.1:1'], { env });
    assert.equal(ran.code, 2);
    assert.equal(ran.stderr.trim().split('\n').length, 1);
    assert.match(ran.stderr, /127\.0\.0\.1:1/);
  });
});

describe('tessera doctor authentication options', () => {
  const env = { PATH: process.env.PATH, HOME: '/nonexistent' };
  const expected = `Basic ${Buffer.from('ops:PLACEHOLDER-pw').toString('base64')}`;
  let dir: string;
  let server: Server;
  let url: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-doctor-auth-'));
    await writeFile(join(dir, 'secret'), 'PLACEHOLDER-pw\n');
    await writeFile(join(dir, 'empty'), '');
    await writeFile(join(dir, 'newline'), '\n');
    await writeFile(join(dir, 'two-lines'), 'PLACEHOLDER-pw\nPLACEHOLDER-more\n');
    server = createServer((request, response) => {
      if (request.headers.authorization !== expected) {
        response.writeHead(401).end();
        return;
      }
      const body = request.url === '/state' ? '{"slaves": []}' : '{"version": "1.11.0"}';
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const doctor = (args: string[]) => runTessera(['doctor', '--master', url, ...args], { env });

  test('principal and secret file are sent', async () => {
    const ran = await doctor(['--principal', 'ops', '--secret-file', join(dir, 'secret')]);
    assert.equal(ran.code, 0, ran.stderr);
  });

  const usage: [string, string[], RegExp][] = [
    ['secret file alone', ['--secret-file', 'secret'], /--secret-file needs --principal/],
    ['principal alone', ['--principal', 'ops'], /--principal needs --secret-file/],
    [
      'principal with a colon',
      ['--principal', 'ops:PLACEHOLDER-x', '--secret-file', 'secret'],
      /--principal must not contain ':'/,
    ],
    [
      'empty principal',
      ['--principal', '', '--secret-file', 'secret'],
      /--principal must not be empty/,
    ],
    [
      'principal with a line break',
      ['--principal', 'ops\nx', '--secret-file', 'secret'],
      /--principal must not contain control characters/,
    ],
    [
      'empty secret file',
      ['--principal', 'ops', '--secret-file', 'empty'],
      /--secret-file .*empty is empty/,
    ],
    ['secret file of a line break', ['--principal', 'ops', '--secret-file', 'newline'], /is empty/],
    [
      'secret file of two lines',
      ['--principal', 'ops', '--secret-file', 'two-lines'],
      /contains a control character/,
    ],
    [
      'missing secret file',
      ['--principal', 'ops', '--secret-file', 'missing'],
      /could not read --secret-file .*ENOENT/,
    ],
  ];
  for (const [name, args, pattern] of usage) {
    test(`${name} is a usage error`, async () => {
      const paths = args.map((arg, index) =>
        args[index - 1] === '--secret-file' ? join(dir, arg) : arg,
      );
      const ran = await doctor(paths);
      assert.equal(ran.code, 1, ran.stderr);
      assert.match(ran.stderr, pattern);
      assert.doesNotMatch(ran.stderr, /\n\s+at /);
      assert.doesNotMatch(ran.stderr, /PLACEHOLDER/);
    });
  }
});
