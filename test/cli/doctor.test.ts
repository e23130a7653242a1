import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

  test('an unreachable master is one clear line', async () => {
    const ran = await runTessera(['doctor', '--master', 'http://127.0.0.1:1'], { env });
    assert.equal(ran.code, 2);
    assert.equal(ran.stderr.trim().split('\n').length, 1);
    assert.match(ran.stderr, /127\.0\.0\.1:1/);
  });
});
