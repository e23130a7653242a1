import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import {
  type Dirs,
  makeDirs,
  makeTask,
  readRegularFiles,
  runExec,
  secretVariable,
  secretVolume,
  startExec,
  toBase64,
  waitForStdout,
} from './exec-harness.ts';

const TIMEOUT = { timeout: 30_000 };
const PATH = process.env.PATH ?? '/usr/bin:/bin';

const oversize: { reference: { name: string }; value: { data: string } }[] = JSON.parse(
  readFileSync(new URL('../fixtures/cases/34-oversize-secret-1mib.json', import.meta.url), 'utf8'),
);
const ONE_MIB = oversize.find((entry) => entry.reference.name === '/example-team/big-bundle-1mib');

async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

describe('execTask file secrets', () => {
  let dirs: Dirs;
  beforeEach(async () => {
    dirs = await makeDirs();
  });
  afterEach(async () => {
    await dirs.cleanup();
  });

  function run(script: string, volumes: ReturnType<typeof secretVolume>[], values = {}) {
    const task = makeTask({ command: { value: script }, volumes });
    return runExec({ task, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs, values });
  }

  const contents: [string, Buffer][] = [
    ['non-UTF-8 bytes', Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x00])],
    ['a trailing newline', Buffer.from('line one\nline two\n')],
    ['zero bytes', Buffer.alloc(0)],
    ['1 MiB', Buffer.from(ONE_MIB?.value.data ?? '', 'base64')],
  ];
  for (const [label, bytes] of contents) {
    it(`delivers ${label} byte for byte`, TIMEOUT, async () => {
      const out = await run('cat secret.bin', [secretVolume('secret.bin', '/f')], {
        '/f': toBase64(bytes),
      });
      assert.deepEqual(out.result, { code: 0, signal: null });
      assert.equal(out.stdout.length, bytes.length);
      assert.ok(out.stdout.equals(bytes));
    });
  }

  it('sets file and directory modes', TIMEOUT, async () => {
    const script =
      'for f in ro rw; do stat -c %a "$(readlink $f)"; done; stat -c %a "$(dirname "$(readlink ro)")"';
    const volumes = [secretVolume('ro', '/a'), secretVolume('rw', '/b', 'RW')];
    const out = await run(script, volumes, { '/a': toBase64('a'), '/b': toBase64('b') });
    assert.deepEqual(out.stdout.toString('utf8').trim().split('\n'), ['400', '600', '700']);
  });

  it('removes files and links after exit', TIMEOUT, async () => {
    const out = await run('readlink secret', [secretVolume('secret', '/s')], {
      '/s': toBase64('x'),
    });
    const target = out.stdout.toString('utf8').trim();
    assert.ok(target.startsWith(`${dirs.tmpfs}/tessera-`));
    assert.equal(await pathExists(target), false);
    assert.equal(await pathExists(join(dirs.sandbox, 'secret')), false);
    assert.deepEqual(await readdir(dirs.tmpfs), []);
  });

  it('cleans up when the child is killed', TIMEOUT, async () => {
    const out = await run('kill -KILL $$', [secretVolume('secret', '/s')], { '/s': toBase64('x') });
    assert.deepEqual(out.result, { code: null, signal: 'SIGKILL' });
    assert.deepEqual(await readdir(dirs.tmpfs), []);
    assert.deepEqual(await readdir(dirs.sandbox), []);
  });

  it('places relative paths under MESOS_SANDBOX', TIMEOUT, async () => {
    const sandbox = join(dirs.root, 'mesos-sandbox');
    await mkdir(sandbox);
    const task = makeTask({
      command: { value: 'cat "$MESOS_SANDBOX/nested/dir/key"' },
      volumes: [secretVolume('nested/dir/key', '/k')],
    });
    const env = { PATH, MESOS_SANDBOX: sandbox };
    const config = { task, env, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs };
    const out = await runExec({ ...config, values: { '/k': toBase64('in-sandbox') } });
    assert.equal(out.stdout.toString('utf8'), 'in-sandbox');
    assert.deepEqual(await readdir(sandbox), []);
    assert.deepEqual(await readdir(dirs.sandbox), []);
  });

  it('places absolute container paths as given', TIMEOUT, async () => {
    const linkPath = join(dirs.root, 'abs', 'key');
    const out = await run(`cat ${linkPath}`, [secretVolume(linkPath, '/k')], {
      '/k': toBase64('abs'),
    });
    assert.equal(out.stdout.toString('utf8'), 'abs');
    assert.equal(await pathExists(linkPath), false);
  });

  it('uses /dev/shm by default', TIMEOUT, async () => {
    const task = makeTask({
      command: { value: 'readlink key' },
      volumes: [secretVolume('key', '/k')],
    });
    const out = await runExec({
      task,
      env: { PATH },
      cwd: dirs.sandbox,
      values: { '/k': toBase64('k') },
    });
    const target = out.stdout.toString('utf8').trim();
    assert.match(target, /^\/dev\/shm\/tessera-[^/]+\/secret-0$/);
    assert.equal(await pathExists(target), false);
  });

  it('rejects a foreign file at the container path', TIMEOUT, async () => {
    const existing = join(dirs.sandbox, 'config.json');
    await writeFile(existing, 'owned by the task');
    const out = await run('touch started', [secretVolume('config.json', '/c')], {
      '/c': toBase64('c'),
    });
    assert.equal(out.error?.code, 'DELIVERY_FAILED');
    assert.match(out.error?.message ?? '', /config\.json/);
    assert.equal(await readFile(existing, 'utf8'), 'owned by the task');
    assert.equal(await pathExists(join(dirs.sandbox, 'started')), false);
    assert.deepEqual(await readdir(dirs.tmpfs), []);
  });

  it('replaces a link left by an earlier run', TIMEOUT, async () => {
    const stale = join(dirs.tmpfs, 'tessera-earlier', 'secret-0');
    await symlink(stale, join(dirs.sandbox, 'key'));
    const out = await run('cat key', [secretVolume('key', '/k')], { '/k': toBase64('fresh') });
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.equal(out.stdout.toString('utf8'), 'fresh');
    assert.equal(await pathExists(join(dirs.sandbox, 'key')), false);
  });

  it('refuses a link of a running run', TIMEOUT, async () => {
    const volumes = [secretVolume('shared/key', '/k')];
    const task = makeTask({ command: { value: 'echo ready; sleep 5' }, volumes });
    const config = { task, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs };
    const first = startExec({ ...config, values: { '/k': toBase64('first-run') } });
    try {
      await waitForStdout(first, 'ready');
      const second = await runExec({ ...config, values: { '/k': toBase64('second-run') } });
      assert.equal(second.error?.code, 'DELIVERY_FAILED');
      assert.match(
        second.error?.message ?? '',
        /container path shared\/key \(.*shared\/key\) is in use by tessera exec process \d+/,
      );
      const link = join(dirs.sandbox, 'shared', 'key');
      assert.equal(await readFile(link, 'utf8'), 'first-run');
    } finally {
      first.process.kill('SIGTERM');
      await first.output;
    }
  });

  it('leaves nothing when resolve fails', TIMEOUT, async () => {
    const task = makeTask({
      command: { value: 'touch started' },
      volumes: [secretVolume('nested/key', '/k')],
    });
    const config = { task, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs };
    const out = await runExec({ ...config, failResolve: true });
    assert.equal(out.error?.message, 'backend unreachable');
    assert.equal(out.result, undefined);
    assert.deepEqual(await readdir(dirs.tmpfs), []);
    assert.deepEqual(await readdir(dirs.sandbox), []);
  });

  it('keeps a canary out of logs and disk files', TIMEOUT, async () => {
    const canary = 'CANARY-7f3a9c1e-do-not-print';
    const task = makeTask({
      command: {
        value: 'test "$TOKEN" = "$(cat creds/token)"',
        environment: { variables: [secretVariable('TOKEN', '/canary')] },
      },
      volumes: [secretVolume('creds/token', '/canary')],
    });
    const config = { task, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs };
    const out = await runExec({ ...config, values: { '/canary': toBase64(canary) } });
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.deepEqual(out.logs, ['secrets placed: 1 environment variable, 1 file']);
    assert.equal(out.stderr.includes(canary), false);
    assert.equal(out.stdout.includes(canary), false);
    for (const [path, bytes] of await readRegularFiles(dirs.root)) {
      assert.equal(bytes.includes(canary), false, `${path} contains the canary`);
    }
  });

  it('keeps a rejected canary out of the error', TIMEOUT, async () => {
    const canary = 'CANARY-b2e4-rejected';
    const task = makeTask({
      command: { value: 'true', environment: { variables: [secretVariable('BAD', '/bad')] } },
    });
    const values = { '/bad': toBase64(`${canary}\0tail`) };
    const out = await runExec({ task, env: { PATH }, cwd: dirs.sandbox, values });
    assert.equal(out.error?.code, 'DELIVERY_FAILED');
    assert.equal(out.stderr.includes(canary), false);
  });
});
