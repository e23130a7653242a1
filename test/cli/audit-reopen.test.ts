import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runTessera, type ServerProcess, startServerProcess } from '../helpers/cli.ts';

describe('audit file moved by log rotation', () => {
  let dir: string;
  let server: ServerProcess;
  let env: NodeJS.ProcessEnv;
  const file = () => join(dir, 'audit.log');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-audit-reopen-'));
    const base = { PATH: process.env.PATH, HOME: dir };
    server = await startServerProcess(['--dev', '--audit-file', file()], base);
    env = { ...base, TESSERA_ADDR: server.address, TESSERA_TOKEN: server.rootToken };
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('health reports the move, and SIGHUP reopens with the chain intact', async () => {
    assert.equal((await runTessera(['put', 'a/b', 'v=-'], { env, input: 'one' })).code, 0);
    const rotated = join(dir, 'audit.log.1');
    await rename(file(), rotated);

    // Health shows the reason only to a token that may read sys/health.
    const health = await fetch(`${server.address}/v1/sys/health`, {
      headers: { 'x-vault-token': env.TESSERA_TOKEN ?? '' },
    });
    const body = (await health.json()) as { audit: { ok: boolean; reason: string } };
    assert.equal(health.status, 503);
    assert.match(body.audit.reason, /moved or replaced, so new lines go to the moved file.*SIGHUP/);

    server.child.kill('SIGHUP');
    let reopened = false;
    for (let attempt = 0; attempt < 50 && !reopened; attempt += 1) {
      await sleep(100);
      reopened = (await fetch(`${server.address}/v1/sys/health`)).status === 200;
    }
    assert.equal(reopened, true, 'healthy again within 5 s of SIGHUP');
    assert.equal((await runTessera(['put', 'a/c', 'v=-'], { env, input: 'two' })).code, 0);
    assert.match(await readFile(file(), 'utf8'), /"path":"a\/c"/);

    const verified = await runTessera(['audit', 'verify', rotated, file()], { env });
    assert.equal(verified.code, 0, verified.stdout.toString() + verified.stderr);
  });
});
