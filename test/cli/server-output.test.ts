import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TESSERA_BIN } from '../helpers/cli.ts';

// Returns a port that was free a moment ago, since the server's banner cannot be read here.
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function healthStatus(port: number): Promise<number | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/v1/sys/health`, {
      signal: AbortSignal.timeout(2000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

describe('tessera server with its output closed', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tessera-server-output-'));
  });
  after(() => rm(home, { recursive: true, force: true }));

  test('keeps serving and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(TESSERA_BIN, ['server', '--dev', '--port', String(port)], {
      env: { PATH: process.env.PATH, HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // The reader goes away before the server writes anything, as `| head -2` does soon after.
    child.stdout.destroy();
    child.stderr.destroy();
    try {
      let status: number | null = null;
      for (let attempt = 0; attempt < 60 && status === null && child.exitCode === null; attempt++) {
        await sleep(250);
        status = await healthStatus(port);
      }
      assert.equal(child.exitCode, null, 'the server exited');
      assert.equal(status, 200);
      // Each request logs a line to the closed stderr.
      for (let index = 0; index < 5; index += 1) assert.equal(await healthStatus(port), 200);

      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(5000).then(() => 'still running')]);
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
