import assert from 'node:assert/strict';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { PlacedFiles, resolveContainerPath } from '../../src/delivery/files.ts';
import { isTesseraError } from '../../src/errors.ts';

async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

describe('resolveContainerPath', () => {
  it('puts a relative path in the sandbox', () => {
    assert.equal(
      resolveContainerPath('etc/some/my_secret', '/sandbox'),
      '/sandbox/etc/some/my_secret',
    );
  });

  it('keeps an absolute path', () => {
    assert.equal(resolveContainerPath('/etc/my_secret', '/sandbox'), '/etc/my_secret');
  });

  for (const path of ['../escape', 'secrets/../../etc/passwd', '.', 'a/..']) {
    it(`rejects ${path}`, () => {
      assert.throws(
        () => resolveContainerPath(path, '/sandbox'),
        (error) => isTesseraError(error, 'DELIVERY_FAILED') && error.message.includes(path),
      );
    });
  }
});

describe('PlacedFiles', () => {
  let sandbox: string;
  let tmpfs: string;
  const logs: string[] = [];
  beforeEach(async () => {
    sandbox = await mkdtemp(join(tmpdir(), 'tessera-files-test-'));
    tmpfs = await mkdtemp('/dev/shm/tessera-files-test-');
    logs.length = 0;
  });
  afterEach(async () => {
    await rm(sandbox, { recursive: true, force: true });
    await rm(tmpfs, { recursive: true, force: true });
  });

  async function create(): Promise<PlacedFiles> {
    return PlacedFiles.create(tmpfs, (line) => logs.push(line));
  }

  it('writes bytes behind a link', async () => {
    const placed = await create();
    const bytes = Buffer.from([0, 1, 2, 0xff, 0x0a]);
    const link = join(sandbox, 'key');
    await placed.place({ containerPath: 'key', bytes, readOnly: true }, 0, link);
    assert.ok((await readFile(link)).equals(bytes));
    assert.equal(await readlink(link), join(placed.privateDir, 'secret-0'));
    await placed.remove();
  });

  it('uses private modes', async () => {
    const placed = await create();
    await placed.place(
      { containerPath: 'ro', bytes: Buffer.from('r'), readOnly: true },
      0,
      join(sandbox, 'ro'),
    );
    await placed.place(
      { containerPath: 'rw', bytes: Buffer.from('w'), readOnly: false },
      1,
      join(sandbox, 'rw'),
    );
    assert.equal((await stat(placed.privateDir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(sandbox, 'ro'))).mode & 0o777, 0o400);
    assert.equal((await stat(join(sandbox, 'rw'))).mode & 0o777, 0o600);
    await placed.remove();
  });

  it('creates missing parents with mode 0700', async () => {
    const placed = await create();
    const link = join(sandbox, 'a', 'b', 'key');
    await placed.place(
      { containerPath: 'a/b/key', bytes: Buffer.from('k'), readOnly: true },
      0,
      link,
    );
    assert.equal((await stat(join(sandbox, 'a'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(sandbox, 'a', 'b'))).mode & 0o777, 0o700);
    await placed.remove();
    assert.deepEqual(await readdir(sandbox), []);
  });

  it('keeps created parents the task used', async () => {
    const placed = await create();
    const link = join(sandbox, 'conf', 'key');
    await placed.place(
      { containerPath: 'conf/key', bytes: Buffer.from('k'), readOnly: true },
      0,
      link,
    );
    await writeFile(join(sandbox, 'conf', 'task-output'), 'kept');
    await placed.remove();
    assert.deepEqual(await readdir(join(sandbox, 'conf')), ['task-output']);
  });

  it('removes the private directory', async () => {
    const placed = await create();
    await placed.place(
      { containerPath: 'k', bytes: Buffer.from('k'), readOnly: true },
      0,
      join(sandbox, 'k'),
    );
    await placed.remove();
    assert.equal(await pathExists(placed.privateDir), false);
    assert.equal(await pathExists(join(sandbox, 'k')), false);
    assert.deepEqual(logs, []);
  });

  it('leaves a link the task replaced', async () => {
    const placed = await create();
    const link = join(sandbox, 'k');
    await placed.place({ containerPath: 'k', bytes: Buffer.from('k'), readOnly: true }, 0, link);
    await unlink(link);
    await writeFile(link, 'task data');
    await placed.remove();
    assert.equal(await readFile(link, 'utf8'), 'task data');
  });

  it('rejects a foreign symlink', async () => {
    const placed = await create();
    const link = join(sandbox, 'foreign-link');
    await symlink('/etc/hostname', link);
    const file = { containerPath: 'foreign-link', bytes: Buffer.from('k'), readOnly: true };
    await assert.rejects(
      placed.place(file, 0, link),
      (error) => isTesseraError(error, 'DELIVERY_FAILED') && error.message.includes('foreign-link'),
    );
    assert.equal(await readlink(link), '/etc/hostname');
    await placed.remove();
  });

  it('rejects a directory at the path', async () => {
    const placed = await create();
    const link = join(sandbox, 'dir');
    await mkdir(link);
    await assert.rejects(
      placed.place({ containerPath: 'dir', bytes: Buffer.from('k'), readOnly: true }, 0, link),
      (error) => isTesseraError(error, 'DELIVERY_FAILED'),
    );
    assert.ok((await stat(link)).isDirectory());
    await placed.remove();
  });

  it('rejects one path used twice', async () => {
    const placed = await create();
    const link = join(sandbox, 'k');
    const file = { containerPath: 'k', bytes: Buffer.from('k'), readOnly: true };
    await placed.place(file, 0, link);
    await assert.rejects(
      placed.place(file, 1, link),
      (error) => isTesseraError(error, 'DELIVERY_FAILED') && /more than one/.test(error.message),
    );
    await placed.remove();
    assert.equal(await pathExists(link), false);
  });

  it('replaces a stale link from another run', async () => {
    const placed = await create();
    const link = join(sandbox, 'k');
    await symlink(join(tmpfs, 'tessera-old', 'secret-3'), link);
    await placed.place({ containerPath: 'k', bytes: Buffer.from('new'), readOnly: true }, 0, link);
    assert.equal(await readFile(link, 'utf8'), 'new');
    await placed.remove();
  });

  it('wraps a file system error', async () => {
    const placed = await create();
    await writeFile(join(sandbox, 'plain'), 'x');
    const link = join(sandbox, 'plain', 'key');
    await assert.rejects(
      placed.place(
        { containerPath: 'plain/key', bytes: Buffer.from('k'), readOnly: true },
        0,
        link,
      ),
      (error) => isTesseraError(error, 'DELIVERY_FAILED') && error.message.includes('plain/key'),
    );
    await placed.remove();
    assert.deepEqual(await readdir(tmpfs), []);
  });
});
