import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { request, startTestServer, type TestServer } from '../helpers/server.ts';
import {
  envSecret,
  execEnv,
  fileSecret,
  shellTask,
  startExecCli,
  writeTaskDir,
} from './exec-cli-harness.ts';

const TIMEOUT = { timeout: 40_000 };

function sha(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

async function put(server: TestServer, path: string, value: string): Promise<void> {
  const body = { fields: { value: Buffer.from(value).toString('base64') } };
  const response = await request(server, 'POST', `/v1/tessera/data/${path}`, body);
  assert.equal(response.status, 200);
}

// The child prints hashes, not values, because the masker hides the values themselves.
const PRINT_ENV = 'echo "start $(printf %s "$PW" | sha256sum)"; while :; do sleep 0.1; done';
const PRINT_FILE_ON_HUP =
  'trap \'echo "hup $(sha256sum < secrets/db)"\' HUP; echo "start $(sha256sum < secrets/db)"; ' +
  'while :; do sleep 0.1; done';
const PRINT_FILE_CHANGES =
  'last=; while :; do h=$(sha256sum < secrets/db); ' +
  'if [ "$h" != "$last" ]; then echo "file $h"; last=$h; fi; sleep 0.1; done';

describe('tessera exec change policies', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  async function runWithRotation(
    path: string,
    task: unknown,
    flags: string[],
    before: RegExp,
    check: (run: ReturnType<typeof startExecCli>) => Promise<void>,
  ) {
    await put(server, path, `first-value-of-${path}`);
    const dir = await writeTaskDir(task);
    const run = startExecCli(
      ['--task', dir.taskFile, '--grace', '2', ...flags],
      execEnv(server.address, server.rootToken),
      dir.dir,
    );
    try {
      await run.waitFor(before);
      await run.waitFor(/change stream|secrets placed/, 5000, 'stderr');
      // The watch subscribes right after the command starts; a short wait lets it connect.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await put(server, path, `second-value-of-${path}`);
      await check(run);
    } finally {
      run.kill();
      await run.ended();
      await dir.cleanup();
    }
  }

  it('restarts on an env change by default', TIMEOUT, async () => {
    const task = shellTask(PRINT_ENV, [envSecret('PW', '/follow/restart')]);
    await runWithRotation('follow/restart', task, [], /start/, async (run) => {
      await run.waitFor(`start ${sha('second-value-of-follow/restart')}`);
      assert.ok(run.stdout().includes(`start ${sha('first-value-of-follow/restart')}`));
      assert.match(run.stderr(), /environment variable PW changed; applying restart/);
    });
  });

  it('sends the signal after rewriting', TIMEOUT, async () => {
    const task = shellTask(PRINT_FILE_ON_HUP, [], [fileSecret('secrets/db', '/follow/signal')]);
    const flags = ['--on-change', 'secrets/db=signal:HUP'];
    await runWithRotation('follow/signal', task, flags, /start/, async (run) => {
      await run.waitFor(`hup ${sha('second-value-of-follow/signal')}`);
      assert.equal(run.stdout().match(/start/g)?.length, 1);
    });
  });

  it('rewrites a file by default', TIMEOUT, async () => {
    const task = shellTask(PRINT_FILE_CHANGES, [], [fileSecret('secrets/db', '/follow/rewrite')]);
    await runWithRotation('follow/rewrite', task, [], /file/, async (run) => {
      await run.waitFor(`file ${sha('second-value-of-follow/rewrite')}`);
      assert.ok(run.stdout().includes(`file ${sha('first-value-of-follow/rewrite')}`));
    });
  });

  it('does nothing with none, set by label', TIMEOUT, async () => {
    const labels = [{ key: 'tessera.on_change.PW', value: 'none' }];
    const task = shellTask(PRINT_ENV, [envSecret('PW', '/follow/none')], [], labels);
    await runWithRotation('follow/none', task, [], /start/, async (run) => {
      await run.waitFor(/PW changed; applying none/, 10_000, 'stderr');
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(run.stdout().match(/start/g)?.length, 1);
    });
  });

  it('rejects rewrite for a variable', TIMEOUT, async () => {
    await put(server, 'follow/bad', 'some-value-here');
    const dir = await writeTaskDir(shellTask('touch started', [envSecret('PW', '/follow/bad')]));
    try {
      const run = startExecCli(
        ['--task', dir.taskFile, '--on-change', 'PW=rewrite'],
        execEnv(server.address, server.rootToken),
        dir.dir,
      );
      const result = await run.ended();
      assert.notEqual(result.code, 0);
      assert.match(run.stderr(), /PW: rewrite applies only to file secrets/);
    } finally {
      await dir.cleanup();
    }
  });

  it('lists the tasks with their versions', TIMEOUT, async () => {
    const task = shellTask(PRINT_ENV, [envSecret('PW', '/follow/tasks')]);
    await runWithRotation('follow/tasks', task, [], /start/, async (run) => {
      await run.waitFor(`start ${sha('second-value-of-follow/tasks')}`);
      const listing = await request(server, 'GET', '/v1/tessera/tasks?path=follow/tasks');
      assert.equal(listing.body.data.current_version, 2);
      assert.equal(listing.body.data.tasks[0]?.version, 2);
      assert.equal(listing.body.data.tasks[0]?.outdated, false);
    });
  });
});

// A mounted backend sends no change events, so only the periodic check finds a new value.
describe('tessera exec on a mounted backend', () => {
  let home: string;
  let file: string;
  let server: TestServer;
  const entry = (value: string) =>
    JSON.stringify([
      { reference: { name: '/db' }, value: { data: Buffer.from(value).toString('base64') } },
    ]);

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tessera-recheck-'));
    file = join(home, 'secrets.json');
    await writeFile(file, entry('first-mounted-value'));
    server = await startTestServer({
      mounts: [{ prefix: 'ext/', spec: { kind: 'file', file, dcosBase64: false } }],
    });
  });
  after(async () => {
    await server.close();
    await rm(home, { recursive: true, force: true });
  });

  it('restarts with a new value found by the periodic check', TIMEOUT, async () => {
    const dir = await writeTaskDir(shellTask(PRINT_ENV, [envSecret('PW', '/ext/db')]));
    const run = startExecCli(
      ['--task', dir.taskFile, '--grace', '2', '--recheck-interval', '1'],
      execEnv(server.address, server.rootToken),
      dir.dir,
    );
    try {
      await run.waitFor(`start ${sha('first-mounted-value')}`);
      // Written whole and renamed, as an operator's tool would, so the reload reads one file.
      await writeFile(`${file}.new`, entry('second-mounted-value'));
      await rename(`${file}.new`, file);
      await run.waitFor(`start ${sha('second-mounted-value')}`, 15_000);
    } finally {
      run.kill();
      await run.ended();
      await dir.cleanup();
    }
  });
});
