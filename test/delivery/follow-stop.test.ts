import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { request, startTestServer, type TestServer } from '../helpers/server.ts';
import { envSecret, execEnv, shellTask, startExecCli, writeTaskDir } from './exec-cli-harness.ts';
import { isAlive } from './exec-harness.ts';

const TIMEOUT = { timeout: 40_000 };

async function put(server: TestServer, path: string, value: string | Buffer): Promise<void> {
  const body = { fields: { value: Buffer.from(value).toString('base64') } };
  const response = await request(server, 'POST', `/v1/tessera/data/${path}`, body);
  assert.equal(response.status, 200);
}

async function taskVersions(server: TestServer, path: string) {
  const listing = await request(server, 'GET', `/v1/tessera/tasks?path=${path}`);
  return listing.body.data.tasks as { version: number; expires_time: string | null }[];
}

describe('tessera exec stopping and restarting', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  async function start(path: string, script: string, flags: string[] = []) {
    await put(server, path, `first-value-of-${path}`);
    const dir = await writeTaskDir(shellTask(script, [envSecret('PW', `/${path}`)]));
    const run = startExecCli(
      ['--task', dir.taskFile, '--grace', '2', ...flags],
      execEnv(server.address, server.rootToken),
      dir.dir,
    );
    await run.waitFor(/started/);
    // The watch subscribes right after the command starts; a short wait lets it connect.
    await sleep(500);
    return { run, dir };
  }

  it('stops the old process tree on a restart', TIMEOUT, async () => {
    const script = 'sleep 300 & echo "started $!"; wait';
    const { run, dir } = await start('stop/tree', script);
    try {
      const first = Number(/started (\d+)/.exec(run.stdout())?.[1]);
      await put(server, 'stop/tree', 'second-value-of-stop/tree');
      await run.waitFor(/started \d+\n.*started \d+/s);
      assert.equal(isAlive(first), false);
      assert.doesNotMatch(run.stderr(), /still holds its output open/);
    } finally {
      run.kill();
      await run.ended();
      await dir.cleanup();
    }
  });

  it('ends on SIGTERM during a restart', TIMEOUT, async () => {
    const script = "trap 'sleep 1; exit 0' TERM; echo started; while :; do sleep 0.1; done";
    const { run, dir } = await start('stop/during', script);
    try {
      await put(server, 'stop/during', 'second-value-of-stop/during');
      await run.waitFor(/PW changed; applying restart/, 10_000, 'stderr');
      run.child.kill('SIGTERM');
      const result = await run.ended();
      assert.equal(result.code, 0);
      assert.equal(run.stdout().match(/started/g)?.length, 1);
      assert.match(run.stderr(), /received SIGTERM during the restart; not starting again/);
    } finally {
      run.kill();
      await dir.cleanup();
    }
  });

  it('keeps the old version when a change is not applied', TIMEOUT, async () => {
    const script = 'echo started; while :; do sleep 0.1; done';
    const { run, dir } = await start('versions/nul', script);
    const none = await start('versions/none', script, ['--on-change', 'PW=none']);
    try {
      await put(server, 'versions/nul', Buffer.from('has\0nul-byte'));
      await put(server, 'versions/none', 'second-value-of-versions/none');
      await run.waitFor(/failed to apply changed secrets/, 10_000, 'stderr');
      await none.run.waitFor(/PW changed; applying none/, 10_000, 'stderr');
      await sleep(300);
      assert.deepEqual(
        (await taskVersions(server, 'versions/nul')).map((task) => task.version),
        [1],
      );
      assert.deepEqual(
        (await taskVersions(server, 'versions/none')).map((task) => task.version),
        [1],
      );
      assert.doesNotMatch(run.stderr(), /has\0nul/);
    } finally {
      run.kill();
      none.run.kill();
      await run.ended();
      await none.run.ended();
      await dir.cleanup();
      await none.dir.cleanup();
    }
  });

  it('reports the end of the task', TIMEOUT, async () => {
    const { run, dir } = await start('versions/end', 'echo started; sleep 1');
    try {
      const [record] = await taskVersions(server, 'versions/end');
      assert.equal(record?.version, 1);
      assert.ok(record?.expires_time);
      assert.equal((await run.ended()).code, 0);
      assert.deepEqual(await taskVersions(server, 'versions/end'), []);
    } finally {
      await dir.cleanup();
    }
  });

  it('reports with a recheck interval over 8 hours', TIMEOUT, async () => {
    // Three intervals of 9 hours would be a lifetime over the server's one day.
    const { run, dir } = await start('versions/long', 'echo started; sleep 1', [
      '--recheck-interval',
      String(9 * 3600),
    ]);
    try {
      const [record] = await taskVersions(server, 'versions/long');
      assert.equal(record?.version, 1, run.stderr());
      const lifetime = Date.parse(record?.expires_time ?? '') - Date.now();
      assert.ok(lifetime > 23 * 3600_000, `${lifetime} ms`);
      assert.ok(lifetime <= 24 * 3600_000, `${lifetime} ms`);
      assert.equal((await run.ended()).code, 0);
      assert.doesNotMatch(run.stderr(), /could not record the versions/);
    } finally {
      await dir.cleanup();
    }
  });

  it('warns of a short rotated value', TIMEOUT, async () => {
    const { run, dir } = await start('mask/short', 'echo started; while :; do sleep 0.1; done', [
      '--on-change',
      'PW=none',
    ]);
    try {
      assert.doesNotMatch(run.stderr(), /shorter than/);
      await put(server, 'mask/short', 'abc');
      await run.waitFor(/1 secret value\(s\) shorter than 6 bytes/, 10_000, 'stderr');
    } finally {
      run.kill();
      await run.ended();
      await dir.cleanup();
    }
  });
});
