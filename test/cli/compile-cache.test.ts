import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { personalCacheDir } from '../../src/cli/compile-cache.mjs';

describe('personalCacheDir', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'tessera-home-'));
    await chmod(home, 0o700);
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('makes a private cache in a private home', async () => {
    const dir = personalCacheDir(home);
    assert.equal(dir, join(home, '.cache', 'tessera'));
    const stat = await lstat(dir as string);
    assert.equal(stat.mode & 0o777, 0o700);
  });

  it('rejects a home that others may write', async () => {
    await chmod(home, 0o777);
    assert.equal(personalCacheDir(home), undefined);
    await chmod(home, 0o770);
    assert.equal(personalCacheDir(home), undefined);
  });

  it('rejects a .cache that others may write', async () => {
    await mkdir(join(home, '.cache'), { mode: 0o777 });
    await chmod(join(home, '.cache'), 0o777);
    assert.equal(personalCacheDir(home), undefined);
  });

  it('rejects a .cache that is a link', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'tessera-elsewhere-'));
    try {
      await symlink(elsewhere, join(home, '.cache'));
      assert.equal(personalCacheDir(home), undefined);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('rejects no home and a relative one', () => {
    assert.equal(personalCacheDir(undefined), undefined);
    assert.equal(personalCacheDir(''), undefined);
    assert.equal(personalCacheDir('relative/home'), undefined);
  });
});
