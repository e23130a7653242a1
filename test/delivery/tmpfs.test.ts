import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  defaultTmpfsCandidates,
  filesystemOf,
  findTmpfsDir,
  isMemoryFilesystem,
  makePrivateDir,
} from '../../src/delivery/tmpfs.ts';
import { isTesseraError } from '../../src/errors.ts';

describe('tmpfs directory', () => {
  let diskDir: string;
  let shmDir: string;
  before(async () => {
    diskDir = await mkdtemp(join(tmpdir(), 'tessera-tmpfs-test-'));
    shmDir = await mkdtemp('/dev/shm/tessera-tmpfs-test-');
  });
  after(async () => {
    await rm(diskDir, { recursive: true, force: true });
    await rm(shmDir, { recursive: true, force: true });
  });

  it('detects /dev/shm as tmpfs', async () => {
    assert.equal(await isMemoryFilesystem('/dev/shm'), true);
  });

  it('treats a missing directory as unusable', async () => {
    assert.equal(await isMemoryFilesystem(join(diskDir, 'missing')), false);
    assert.equal(await filesystemOf(join(diskDir, 'missing')), 'ENOENT');
  });

  it('lists XDG_RUNTIME_DIR after /dev/shm', () => {
    assert.deepEqual(defaultTmpfsCandidates({ XDG_RUNTIME_DIR: '/run/user/1000' }), [
      '/dev/shm',
      '/run/user/1000',
    ]);
    assert.deepEqual(defaultTmpfsCandidates({}), ['/dev/shm']);
  });

  it('skips a candidate that is not tmpfs', async (t) => {
    if (await isMemoryFilesystem(diskDir)) {
      t.skip(`${tmpdir()} is itself on tmpfs here`);
      return;
    }
    assert.equal(await findTmpfsDir([diskDir, shmDir]), shmDir);
  });

  it('fails without a tmpfs candidate', async (t) => {
    if (await isMemoryFilesystem(diskDir)) {
      t.skip(`${tmpdir()} is itself on tmpfs here`);
      return;
    }
    await assert.rejects(
      findTmpfsDir([diskDir]),
      (error) => isTesseraError(error, 'DELIVERY_FAILED') && /--tmpfs-dir/.test(error.message),
    );
  });

  it('makes a private directory', async () => {
    const dir = await makePrivateDir(shmDir);
    assert.equal(dirname(dir), shmDir);
    assert.match(basename(dir), /^tessera-/);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it('reports a missing tmpfs directory', async () => {
    const missing = join(shmDir, 'missing');
    await assert.rejects(
      makePrivateDir(missing),
      (error) => isTesseraError(error, 'DELIVERY_FAILED') && error.message.includes(missing),
    );
  });
});
