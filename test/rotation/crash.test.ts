import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ROTATION_STEPS, type RotationStep } from '../../src/rotation/policy.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { type ServerProcess, startServerProcess } from '../helpers/cli.ts';
import { requestAt } from '../helpers/server.ts';

const HOOK = join(import.meta.dirname, '..', 'fixtures', 'rotation', 'blocking-hook.sh');

// Steps interrupted before the hook could have changed the target system are rolled back;
// the others resume with the same pending version, which then becomes current.
const EXPECTED: Record<RotationStep, { current: number; outcome: string }> = {
  create: { current: 1, outcome: 'interrupted' },
  set: { current: 2, outcome: 'succeeded' },
  test: { current: 2, outcome: 'succeeded' },
  finish: { current: 2, outcome: 'succeeded' },
};

// Reads the store beside the running server, which SQLite's write-ahead log allows.
async function hookTokensOf(dataDir: string, path: string): Promise<string[]> {
  const store = await openSqliteStore(join(dataDir, 'tessera.db'));
  try {
    const accessors = await store.listTokenAccessors();
    const records = await Promise.all(
      accessors.map((accessor) => store.findTokenByAccessor(accessor)),
    );
    return records.flatMap((record) =>
      record?.meta.created_by === 'rotation' && record.meta.rotation_path === path
        ? [record.accessor]
        : [],
    );
  } finally {
    await store.close();
  }
}

function call(server: ServerProcess, token: string, method: string, route: string, body?: unknown) {
  return requestAt(server.address, token, method, route, body);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already ended.
  }
}

describe('rotation interrupted by a server crash', { timeout: 60_000 }, () => {
  let dir: string;
  let dataDir: string;
  let token: string;
  let server: ServerProcess | undefined;
  const env = { PATH: process.env.PATH, HOME: tmpdir() };
  const hookPids: number[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-crash-'));
    dataDir = join(dir, 'data');
    server = await startServerProcess(['--data-dir', dataDir], env);
    token = server.rootToken as string;
    assert.ok(token, 'the first start prints a root token');
  });
  after(async () => {
    if (server) server.child.kill('SIGKILL');
    for (const pid of hookPids) killQuietly(pid);
    await rm(dir, { recursive: true, force: true });
  });

  for (const step of ROTATION_STEPS) {
    it(`leaves a clean state after a kill in ${step}`, async () => {
      const path = `crash/${step}`;
      let running = server as ServerProcess;
      const value = Buffer.from(`first-of-${step}`).toString('base64');
      assert.equal(
        (await call(running, token, 'POST', `/v1/tessera/data/${path}`, { fields: { value } }))
          .status,
        200,
      );
      const policy = {
        schedule: { interval: '1h' },
        generator: { type: 'bytes', length: 16, encoding: 'hex' },
        hook: { command: ['sh', HOOK, dir], timeout_seconds: 20 },
      };
      assert.equal(
        (await call(running, token, 'PUT', `/v1/tessera/rotation/${path}`, policy)).status,
        200,
      );

      await writeFile(join(dir, `block-${step}`), '');
      call(running, token, 'POST', `/v1/tessera/rotate/${path}`, {}).catch(() => undefined);
      const marker = join(dir, `in-${step}`);
      const pid = await waitFor(`the hook to block in ${step}`, async () =>
        existsSync(marker)
          ? Number((await readFile(marker, 'utf8')).trim()) || undefined
          : undefined,
      );
      hookPids.push(pid);

      const ended = new Promise((resolve) => running.child.once('exit', resolve));
      running.child.kill('SIGKILL');
      await ended;
      killQuietly(pid);
      await rm(join(dir, `block-${step}`));
      await rm(marker);

      running = await startServerProcess(['--data-dir', dataDir], env);
      server = running;
      const history = await waitFor('the rotation to settle', async () => {
        const response = await call(running, token, 'GET', `/v1/tessera/history/${path}`);
        return response.body.data.rotation.step === 'idle' ? response.body.data : undefined;
      });

      const expected = EXPECTED[step];
      assert.equal(history.stages.current, expected.current);
      assert.equal(history.stages.pending, null);
      const currentLabels = history.versions.filter((v: { stages: string[] }) =>
        v.stages.includes('current'),
      );
      assert.equal(currentLabels.length, 1);
      assert.equal(history.rotation.events.at(-1).outcome, expected.outcome);
      const read = await call(running, token, 'GET', `/v1/tessera/data/${path}`);
      assert.equal(read.body.data.metadata.version, expected.current);
      assert.deepEqual(await hookTokensOf(dataDir, path), [], 'a hook token is left');
    });
  }
});
