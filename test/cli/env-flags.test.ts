import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { parseBooleanVariable } from '../../src/cli/env-flags.ts';
import { startExecCli, writeTaskDir } from '../delivery/exec-cli-harness.ts';

const VALUE = 'inline-value-for-env-flags';

// A task whose secrets are inline values, so that no server is needed.
function valueTask(script: string, volumes: unknown[] = []) {
  const secret = { type: 'VALUE', value: { data: Buffer.from(VALUE).toString('base64') } };
  return {
    name: 'env-flags',
    task_id: { value: 'env-flags.1' },
    command: {
      value: script,
      environment: { variables: [{ name: 'PW', type: 'SECRET', secret }] },
    },
    ...(volumes.length > 0 ? { container: { type: 'MESOS', volumes } } : {}),
  };
}

function fileVolume(containerPath: string) {
  const secret = { type: 'VALUE', value: { data: Buffer.from(VALUE).toString('base64') } };
  return { mode: 'RO', container_path: containerPath, source: { type: 'SECRET', secret } };
}

async function runExec(task: unknown, args: string[], extra: NodeJS.ProcessEnv = {}) {
  const dir = await writeTaskDir(task);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir.dir,
    // Nothing listens there; these runs never need the server.
    TESSERA_ADDR: 'http://127.0.0.1:9',
    TESSERA_TOKEN: 'tsr_unused',
    ...extra,
  };
  const run = startExecCli(['--task', dir.taskFile, ...args], env, dir.dir);
  const result = await run.ended();
  return { result, stdout: run.stdout(), stderr: run.stderr(), dir };
}

describe('parseBooleanVariable', () => {
  const cases: [string, boolean | undefined | 'invalid'][] = [
    ['1', true],
    ['true', true],
    ['YES', true],
    ['0', false],
    ['false', false],
    ['no', false],
    ['', undefined],
    ['maybe', 'invalid'],
    ['2', 'invalid'],
  ];
  for (const [value, expected] of cases) {
    it(`reads ${JSON.stringify(value)}`, () => {
      assert.equal(parseBooleanVariable(value), expected);
    });
  }
});

describe('boolean environment variables', () => {
  it('keeps masking with TESSERA_NO_MASK=false', { timeout: 20_000 }, async () => {
    for (const value of ['false', '']) {
      const out = await runExec(valueTask('echo "$PW"'), [], { TESSERA_NO_MASK: value });
      assert.equal(out.result.code, 0, out.stderr);
      assert.equal(out.stdout, '****\n', `TESSERA_NO_MASK=${value}`);
      await out.dir.cleanup();
    }
  });

  it('turns masking off with TESSERA_NO_MASK=true', { timeout: 20_000 }, async () => {
    const out = await runExec(valueTask('echo "$PW"'), [], { TESSERA_NO_MASK: 'true' });
    assert.equal(out.stdout, `${VALUE}\n`);
    await out.dir.cleanup();
  });

  it('rejects another value as a usage error', { timeout: 20_000 }, async () => {
    const out = await runExec(valueTask('touch started'), [], { TESSERA_NO_FOLLOW: 'off-please' });
    assert.equal(out.result.code, 1);
    assert.match(out.stderr, /TESSERA_NO_FOLLOW must be 1, true or yes/);
    assert.doesNotMatch(out.stderr, /off-please/);
    assert.deepEqual(await readdir(out.dir.dir), ['task.json']);
    await out.dir.cleanup();
  });
});

describe('tessera exec flags checked before resolution', () => {
  // Node.js runs a timer of more than 2^31 - 1 ms after 1 ms instead.
  for (const [flag, variable] of [
    ['--recheck-interval', 'TESSERA_RECHECK_INTERVAL'],
    ['--grace', 'TESSERA_GRACE'],
  ] as const) {
    it(`rejects ${flag} over 2147483 seconds`, { timeout: 20_000 }, async () => {
      const out = await runExec(valueTask('touch started'), [flag, '2147484']);
      assert.equal(out.result.code, 1);
      assert.match(out.stderr, new RegExp(`${flag} <seconds>' argument '2147484' is invalid`));
      assert.match(out.stderr, /expected a whole number from 0 to 2147483/);
      assert.deepEqual(await readdir(out.dir.dir), ['task.json']);
      await out.dir.cleanup();

      const fromVariable = await runExec(valueTask('touch started'), [], { [variable]: '9e9' });
      assert.equal(fromVariable.result.code, 1);
      assert.match(fromVariable.stderr, /expected a whole number from 0 to 2147483/);
      await fromVariable.dir.cleanup();
    });
  }

  it('takes empty number variables as unset', { timeout: 30_000 }, async () => {
    for (const variable of [
      'TESSERA_GRACE',
      'TESSERA_RECHECK_INTERVAL',
      'TESSERA_SPLAY',
      'TESSERA_START_TIMEOUT',
      'TESSERA_MASK_MIN_LENGTH',
    ]) {
      const out = await runExec(valueTask('touch started'), [], { [variable]: '' });
      assert.equal(out.result.code, 0, `${variable}: ${out.stderr}`);
      await out.dir.cleanup();
    }
  });

  it('rejects an empty number flag', { timeout: 30_000 }, async () => {
    // Only an empty variable counts as unset: an empty flag is a mistake of the caller.
    for (const flag of ['--mask-min-length', '--grace']) {
      const out = await runExec(valueTask('touch started'), [flag, '']);
      assert.equal(out.result.code, 1, `${flag}: ${out.stderr}`);
      assert.match(out.stderr, /argument '' is invalid\. expected a whole number/);
      assert.deepEqual(await readdir(out.dir.dir), ['task.json']);
      await out.dir.cleanup();
    }
  });

  it('takes --recheck-interval of 2147483 seconds', { timeout: 20_000 }, async () => {
    const out = await runExec(valueTask('touch started'), ['--recheck-interval', '2147483']);
    assert.equal(out.result.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /TimeoutOverflowWarning/);
    await out.dir.cleanup();
  });

  it('rejects --on-change for an unknown name', { timeout: 20_000 }, async () => {
    const out = await runExec(valueTask('touch started'), ['--on-change', 'TYPO=none']);
    assert.equal(out.result.code, 1);
    assert.match(out.stderr, /--on-change TYPO: the task has no SECRET environment variable/);
    assert.deepEqual(await readdir(out.dir.dir), ['task.json']);
    await out.dir.cleanup();
  });

  it('rejects rewrite for a variable as usage', { timeout: 20_000 }, async () => {
    const out = await runExec(valueTask('touch started'), ['--on-change', 'PW=rewrite']);
    assert.equal(out.result.code, 1);
    assert.match(out.stderr, /PW: rewrite applies only to file secrets/);
    assert.doesNotMatch(out.stderr, /secrets placed/);
    await out.dir.cleanup();
  });
});

describe('tessera exec tmpfs directory', () => {
  it('takes an empty TESSERA_TMPFS_DIR as unset', { timeout: 20_000 }, async () => {
    const task = valueTask('readlink secret', [fileVolume('secret')]);
    const out = await runExec(task, [], { TESSERA_TMPFS_DIR: '' });
    assert.equal(out.result.code, 0, out.stderr);
    assert.match(out.stdout, /^\/dev\/shm\/tessera-/);
    await out.dir.cleanup();
  });

  it('rejects a disk directory without opt-in', { timeout: 20_000 }, async () => {
    const disk = await mkdtemp(join(tmpdir(), 'tessera-disk-'));
    try {
      const task = valueTask('touch started', [fileVolume('secret')]);
      const refused = await runExec(task, ['--tmpfs-dir', disk]);
      assert.equal(refused.result.code, 2);
      assert.match(refused.stderr, /is not on tmpfs or ramfs.*--allow-non-tmpfs/);
      assert.deepEqual(await readdir(disk), []);
      await refused.dir.cleanup();

      const allowed = await runExec(task, ['--tmpfs-dir', disk, '--allow-non-tmpfs']);
      assert.equal(allowed.result.code, 0, allowed.stderr);
      assert.match(allowed.stderr, /warning: .* may reach a disk/);
      await allowed.dir.cleanup();
    } finally {
      await rm(disk, { recursive: true, force: true });
    }
  });

  it('names a missing tmpfs directory', { timeout: 20_000 }, async () => {
    const task = valueTask('touch started', [fileVolume('secret')]);
    const missing = join(tmpdir(), 'tessera-no-such-dir', 'shm');
    for (const flags of [[], ['--allow-non-tmpfs']]) {
      const out = await runExec(task, ['--tmpfs-dir', missing, ...flags]);
      assert.equal(out.result.code, 2);
      assert.match(
        out.stderr,
        /cannot use the tmpfs directory .*shm: it does not exist; create it/,
      );
      assert.doesNotMatch(out.stderr, /not on tmpfs/);
      await out.dir.cleanup();
    }
  });

  it('names a relative MESOS_SANDBOX', { timeout: 20_000 }, async () => {
    const task = valueTask('touch started', [fileVolume('secrets/db')]);
    const out = await runExec(task, [], { MESOS_SANDBOX: 'relative/sandbox' });
    assert.equal(out.result.code, 2);
    assert.match(out.stderr, /sandbox relative\/sandbox \(from MESOS_SANDBOX\) is not an absolute/);
    await out.dir.cleanup();
  });

  it('names a missing MESOS_SANDBOX', { timeout: 20_000 }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'tessera-sandbox-'));
    await mkdir(join(root, 'present'));
    try {
      const task = valueTask('touch started', [fileVolume('secrets/db')]);
      const out = await runExec(task, [], { MESOS_SANDBOX: join(root, 'missing') });
      assert.equal(out.result.code, 2);
      assert.match(
        out.stderr,
        /sandbox .*missing \(from MESOS_SANDBOX\) cannot be used \(ENOENT\)/,
      );
      await out.dir.cleanup();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
