import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { markOwner, OWNER_FILE, recordPlaced, sweepStaleDirs } from '../../src/delivery/sweep.ts';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

// The id of a process that has already ended.
async function endedPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('sweepStaleDirs', () => {
  let tmpfs: string;
  beforeEach(async () => {
    tmpfs = await mkdtemp('/dev/shm/tessera-sweep-test-');
  });
  afterEach(async () => {
    await rm(tmpfs, { recursive: true, force: true });
  });

  it('removes a directory whose owner is gone', async () => {
    const dir = join(tmpfs, 'tessera-dead01');
    await mkdir(dir);
    await writeFile(join(dir, OWNER_FILE), `${await endedPid()} 1\n`);
    await writeFile(join(dir, 'secret-0'), 'left behind');
    const logs: string[] = [];
    const removed = await sweepStaleDirs(tmpfs, (line) => logs.push(line));
    assert.deepEqual(removed, [dir]);
    assert.equal(await exists(dir), false);
    assert.match(logs[0] ?? '', /killed/);
  });

  it('removes the link and directory a dead run made', async () => {
    const sandbox = await mkdtemp(join(tmpdir(), 'tessera-sweep-sandbox-'));
    try {
      const dir = join(tmpfs, 'tessera-dead02');
      await mkdir(dir);
      await writeFile(join(dir, OWNER_FILE), `${await endedPid()} 1\n`);
      await writeFile(join(dir, 'secret-0'), 'left behind');
      const made = join(sandbox, 'secrets');
      await mkdir(made);
      await symlink(join(dir, 'secret-0'), join(made, 'db'));
      await recordPlaced(dir, { links: [join(made, 'db')], dirs: [made] });

      await sweepStaleDirs(tmpfs, () => undefined);
      assert.equal(await exists(dir), false);
      assert.equal(await exists(made), false);
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
  });

  it('keeps a listed link that leads elsewhere', async () => {
    const sandbox = await mkdtemp(join(tmpdir(), 'tessera-sweep-sandbox-'));
    try {
      const dir = join(tmpfs, 'tessera-dead03');
      await mkdir(dir);
      await writeFile(join(dir, OWNER_FILE), `${await endedPid()} 1\n`);
      await writeFile(join(sandbox, 'own-file'), 'the task made this');
      await symlink(join(sandbox, 'own-file'), join(sandbox, 'link'));
      await recordPlaced(dir, { links: [join(sandbox, 'link')], dirs: [sandbox] });

      await sweepStaleDirs(tmpfs, () => undefined);
      assert.equal(await exists(join(sandbox, 'link')), true);
      assert.equal(await exists(sandbox), true);
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
  });

  it('keeps the directory of a live owner', async () => {
    const dir = join(tmpfs, 'tessera-live01');
    await mkdir(dir);
    await markOwner(dir);
    assert.deepEqual(await sweepStaleDirs(tmpfs, () => undefined), []);
    assert.equal(await exists(dir), true);
  });

  it('removes a reused process id', async () => {
    const dir = join(tmpfs, 'tessera-reused');
    await mkdir(dir);
    await writeFile(join(dir, OWNER_FILE), `${process.pid} 1\n`);
    assert.deepEqual(await sweepStaleDirs(tmpfs, () => undefined), [dir]);
  });

  it('keeps a directory without an owner file', async () => {
    const dir = join(tmpfs, 'tessera-noowner');
    await mkdir(dir);
    assert.deepEqual(await sweepStaleDirs(tmpfs, () => undefined), []);
    assert.equal(await exists(dir), true);
  });

  it('ignores other names', async () => {
    const dir = join(tmpfs, 'other-dir');
    await mkdir(dir);
    await writeFile(join(dir, OWNER_FILE), `${await endedPid()} 1\n`);
    assert.deepEqual(await sweepStaleDirs(tmpfs, () => undefined), []);
  });
});
