import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { type ServerProcess, startServerProcess } from '../helpers/cli.ts';
import { envSecret, execEnv, shellTask, startExecCli, writeTaskDir } from './exec-cli-harness.ts';

const OUTAGE_MS = 30_000;

function sha(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function put(server: ServerProcess, token: string, path: string, value: string) {
  const response = await fetch(`${server.address}/v1/tessera/data/${path}`, {
    method: 'POST',
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    body: JSON.stringify({ fields: { value: Buffer.from(value).toString('base64') } }),
  });
  assert.equal(response.status, 200);
}

async function withDataDir(run: (dataDir: string, port: number) => Promise<void>) {
  const root = await mkdtemp(join(tmpdir(), 'tessera-outage-'));
  try {
    await run(join(root, 'data'), await freePort());
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const serverEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
const PRINT = 'echo "start $(printf %s "$PW" | sha256sum)"; while :; do echo tick; sleep 0.5; done';

describe('tessera exec through server outages', () => {
  it('keeps the task through a 30 s outage', { timeout: 90_000 }, async () => {
    await withDataDir(async (dataDir, port) => {
      const args = ['--data-dir', dataDir, '--port', String(port)];
      const first = await startServerProcess(args, serverEnv);
      const token = first.rootToken as string;
      let second: ServerProcess | undefined;
      await put(first, token, 'outage/db', 'value-before-outage');
      const dir = await writeTaskDir(shellTask(PRINT, [envSecret('PW', '/outage/db')]));
      const run = startExecCli(['--task', dir.taskFile], execEnv(first.address, token), dir.dir);
      try {
        await run.waitFor(`start ${sha('value-before-outage')}`);
        await first.stop();
        const ticksBefore = run.stdout().split('tick').length;
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));

        assert.equal(run.child.exitCode, null);
        assert.ok(run.stdout().split('tick').length > ticksBefore + 20);
        assert.match(run.stderr(), /reconnecting in \d+ ms/);

        second = await startServerProcess(args, serverEnv);
        // The first event after a restart is a reset, since event ids do not survive it.
        await new Promise((resolve) => setTimeout(resolve, 12_000));
        await put(second, token, 'outage/db', 'value-after-outage');
        await run.waitFor(`start ${sha('value-after-outage')}`, 15_000);
        assert.equal(run.stdout().match(/start/g)?.length, 2);
      } finally {
        run.kill();
        await run.ended();
        await first.stop();
        await second?.stop();
        await dir.cleanup();
      }
    });
  });

  it('retries the start until the server is up', { timeout: 60_000 }, async () => {
    await withDataDir(async (dataDir, port) => {
      const args = ['--data-dir', dataDir, '--port', String(port)];
      const first = await startServerProcess(args, serverEnv);
      const token = first.rootToken as string;
      await put(first, token, 'retry/db', 'value-for-retry');
      await first.stop();

      const dir = await writeTaskDir(
        shellTask('printf %s "$PW" | sha256sum', [envSecret('PW', '/retry/db')]),
      );
      const run = startExecCli(
        ['--task', dir.taskFile, '--start-timeout', '30'],
        execEnv(first.address, token),
        dir.dir,
      );
      let second: ServerProcess | undefined;
      try {
        await run.waitFor(/attempt 2; retrying/, 15_000, 'stderr');
        second = await startServerProcess(args, serverEnv);
        const result = await run.ended(30_000);
        assert.equal(result.code, 0, run.stderr());
        assert.ok(run.stdout().includes(sha('value-for-retry')));
        assert.match(run.stderr(), /resolving 1 secret\(s\) failed \(UNREACHABLE\)/);
      } finally {
        run.kill();
        await second?.stop();
        await dir.cleanup();
      }
    });
  });

  it('fails at once on a missing secret', { timeout: 30_000 }, async () => {
    await withDataDir(async (dataDir, port) => {
      const server = await startServerProcess(
        ['--data-dir', dataDir, '--port', String(port)],
        serverEnv,
      );
      const dir = await writeTaskDir(
        shellTask('touch started', [envSecret('PW', '/retry/missing')]),
      );
      try {
        const started = Date.now();
        const run = startExecCli(
          ['--task', dir.taskFile],
          execEnv(server.address, server.rootToken as string),
          dir.dir,
        );
        const result = await run.ended();
        assert.notEqual(result.code, 0);
        assert.ok(Date.now() - started < 10_000);
        assert.doesNotMatch(run.stderr(), /retrying/);
      } finally {
        await server.stop();
        await dir.cleanup();
      }
    });
  });
});

describe('tessera exec when the server hangs at the end', () => {
  it('keeps the status at a second SIGTERM', { timeout: 60_000 }, async () => {
    await withDataDir(async (dataDir, port) => {
      const server = await startServerProcess(
        ['--data-dir', dataDir, '--port', String(port)],
        serverEnv,
      );
      const token = server.rootToken as string;
      await put(server, token, 'hang/db', 'value-before-hang');
      // A busy loop, not `sleep`, so that the command leaves no child to wait for.
      const script = 'trap "exit 5" TERM; echo started; while :; do :; done';
      const dir = await writeTaskDir(shellTask(script, [envSecret('PW', '/hang/db')]));
      const run = startExecCli(['--task', dir.taskFile], execEnv(server.address, token), dir.dir);
      try {
        await run.waitFor('started');
        // The report of the task's end now waits for a server that sends no response.
        server.child.kill('SIGSTOP');
        run.child.kill('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 700));
        run.child.kill('SIGTERM');
        assert.deepEqual(await run.ended(10_000), { code: 5, signal: null });
      } finally {
        server.child.kill('SIGCONT');
        run.kill();
        await run.ended();
        await server.stop();
        await dir.cleanup();
      }
    });
  });
});
