import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { PlacedFiles } from '../../src/delivery/files.ts';
import { checkInsideSandbox, isWithin } from '../../src/delivery/sandbox-path.ts';
import { isTesseraError } from '../../src/errors.ts';
import { type Dirs, makeDirs, makeTask, runExec, secretVolume, toBase64 } from './exec-harness.ts';

const TIMEOUT = { timeout: 30_000 };
const PATH = process.env.PATH ?? '/usr/bin:/bin';
const OUTSIDE = /resolves outside the sandbox .* through a symbolic link/;

async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

describe('isWithin', () => {
  const cases: [string, string, boolean][] = [
    ['/sandbox', '/sandbox', true],
    ['/sandbox/a/b', '/sandbox', true],
    ['/sandbox/..a', '/sandbox', true],
    ['/sandbox-other', '/sandbox', false],
    ['/', '/sandbox', false],
    ['/tmp/outside', '/sandbox', false],
  ];
  for (const [path, root, expected] of cases) {
    it(`${path} in ${root} is ${expected}`, () => {
      assert.equal(isWithin(path, root), expected);
    });
  }
});

describe('checkInsideSandbox', () => {
  let root: string;
  let sandbox: string;
  let outside: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-sandbox-path-test-'));
    sandbox = join(root, 'sandbox');
    outside = join(root, 'outside');
    await mkdir(sandbox);
    await mkdir(outside);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function rejects(dir: string, containerPath: string): Promise<void> {
    return assert.rejects(
      checkInsideSandbox(dir, sandbox, containerPath),
      (error) =>
        isTesseraError(error, 'DELIVERY_FAILED') &&
        OUTSIDE.test(error.message) &&
        error.message.includes(containerPath),
    );
  }

  it('accepts the sandbox itself', async () => {
    await checkInsideSandbox(sandbox, sandbox, 'key');
  });

  it('accepts missing directories', async () => {
    await checkInsideSandbox(join(sandbox, 'a', 'b'), sandbox, 'a/b/key');
  });

  it('accepts a link that stays inside', async () => {
    await mkdir(join(sandbox, 'real'));
    await symlink(join(sandbox, 'real'), join(sandbox, 'alias'));
    await checkInsideSandbox(join(sandbox, 'alias', 'sub'), sandbox, 'alias/sub/key');
  });

  it('accepts a sandbox reached through a link', async () => {
    const linked = join(root, 'linked-sandbox');
    await symlink(sandbox, linked);
    await checkInsideSandbox(join(linked, 'a'), linked, 'a/key');
  });

  it('rejects a link to outside', async () => {
    await symlink(outside, join(sandbox, 'secrets'));
    await rejects(join(sandbox, 'secrets'), 'secrets/x');
  });

  it('rejects a missing directory under such a link', async () => {
    await symlink(outside, join(sandbox, 'secrets'));
    await rejects(join(sandbox, 'secrets', 'a', 'b'), 'secrets/a/b/x');
  });

  it('rejects a dangling link', async () => {
    await symlink(join(root, 'missing'), join(sandbox, 'secrets'));
    await rejects(join(sandbox, 'secrets', 'a'), 'secrets/a/x');
  });
});

describe('execTask with a symbolic link in the sandbox', () => {
  let dirs: Dirs;
  let outside: string;
  beforeEach(async () => {
    dirs = await makeDirs();
    outside = join(dirs.root, 'outside');
    await mkdir(outside);
    await symlink(outside, join(dirs.sandbox, 'secrets'));
  });
  afterEach(async () => {
    await dirs.cleanup();
  });

  function run(containerPath: string) {
    const task = makeTask({
      command: { value: 'touch started' },
      volumes: [secretVolume(containerPath, '/k')],
    });
    const config = { task, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs };
    return runExec({ ...config, values: { '/k': toBase64('secret bytes') } });
  }

  for (const containerPath of ['secrets/x', 'secrets/a/b/x']) {
    it(`rejects ${containerPath} and leaves nothing`, TIMEOUT, async () => {
      const out = await run(containerPath);
      assert.equal(out.error?.code, 'DELIVERY_FAILED');
      assert.match(out.error?.message ?? '', OUTSIDE);
      assert.match(out.error?.message ?? '', new RegExp(containerPath));
      assert.equal(out.result, undefined);
      assert.deepEqual(await readdir(outside), []);
      assert.deepEqual(await readdir(dirs.sandbox), ['secrets']);
      assert.deepEqual(await readdir(dirs.tmpfs), []);
    });
  }

  it('still places an absolute path through the link', TIMEOUT, async () => {
    const linkPath = join(dirs.sandbox, 'secrets', 'abs');
    const task = makeTask({
      command: { value: `cat ${linkPath}` },
      volumes: [secretVolume(linkPath, '/k')],
    });
    const config = { task, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs };
    const out = await runExec({ ...config, values: { '/k': toBase64('abs') } });
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.equal(out.stdout.toString('utf8'), 'abs');
    assert.deepEqual(await readdir(outside), []);
  });
});

describe('PlacedFiles with a sandbox', () => {
  let root: string;
  let tmpfs: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-placed-sandbox-test-'));
    tmpfs = await mkdtemp('/dev/shm/tessera-placed-sandbox-test-');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(tmpfs, { recursive: true, force: true });
  });

  it('places a link inside the sandbox', async () => {
    const sandbox = join(root, 'sandbox');
    await mkdir(sandbox);
    const placed = await PlacedFiles.create(tmpfs, () => undefined);
    const file = { containerPath: 'a/key', bytes: Buffer.from('k'), readOnly: true };
    await placed.place(file, 0, join(sandbox, 'a', 'key'), sandbox);
    assert.equal(await readFile(join(sandbox, 'a', 'key'), 'utf8'), 'k');
    await placed.remove();
    assert.equal(await pathExists(join(sandbox, 'a')), false);
  });
});
