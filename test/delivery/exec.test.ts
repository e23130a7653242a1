import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { access, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import {
  type Dirs,
  makeDirs,
  makeTask,
  runExec,
  secretVariable,
  secretVolume,
  startExec,
  toBase64,
  waitForStdout,
} from './exec-harness.ts';

const TIMEOUT = { timeout: 30_000 };
const PATH = process.env.PATH ?? '/usr/bin:/bin';

interface FixtureEntry {
  reference: { name: string };
  value: { data: string };
}
const oversize: FixtureEntry[] = JSON.parse(
  readFileSync(new URL('../fixtures/cases/34-oversize-secret-1mib.json', import.meta.url), 'utf8'),
);
function fixtureValue(name: string): string {
  const entry = oversize.find((candidate) => candidate.reference.name === name);
  assert.ok(entry, `fixture entry ${name} is missing`);
  return entry.value.data;
}

function shellTask(script: string, variables: ReturnType<typeof secretVariable>[] = []) {
  return makeTask({ command: { value: script, environment: { variables } } });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('execTask environment and process', () => {
  let dirs: Dirs;
  beforeEach(async () => {
    dirs = await makeDirs();
  });
  afterEach(async () => {
    await dirs.cleanup();
  });

  it('passes an env secret to the child', TIMEOUT, async () => {
    const task = shellTask('printf %s "$DB_PASSWORD"', [secretVariable('DB_PASSWORD', '/db/pw')]);
    const out = await runExec({
      task,
      env: { PATH },
      cwd: dirs.sandbox,
      values: { '/db/pw': toBase64('s3cr3t value') },
    });
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.equal(out.stdout.toString('utf8'), 's3cr3t value');
  });

  it('sets an empty secret as an empty variable', TIMEOUT, async () => {
    const script = 'printf "[%s]" "$EMPTY"; env | grep -c "^EMPTY=$"';
    const task = shellTask(script, [secretVariable('EMPTY', '/empty')]);
    const out = await runExec({ task, env: { PATH }, cwd: dirs.sandbox, values: { '/empty': '' } });
    assert.equal(out.stdout.toString('utf8'), '[]1\n');
  });

  it('removes Tessera variables from the child', TIMEOUT, async () => {
    const task = shellTask('env');
    const env = {
      PATH,
      KEEP_ME: 'kept',
      TESSERA_TOKEN: 'tsr_should-not-leak',
      TESSERA_TOKEN_FILE: '/run/token',
    };
    const out = await runExec({ task, env, cwd: dirs.sandbox });
    const lines = out.stdout.toString('utf8').split('\n');
    assert.ok(lines.includes('KEEP_ME=kept'));
    assert.equal(lines.filter((line) => line.startsWith('TESSERA_')).length, 0);
  });

  it('overlays task values and then secrets', TIMEOUT, async () => {
    const task = makeTask({
      command: {
        value: 'printf "%s,%s" "$PLAIN" "$MIXED"',
        environment: {
          variables: [
            { name: 'PLAIN', value: 'from-task' },
            { name: 'MIXED', type: 'VALUE', value: 'plain' },
            secretVariable('MIXED', '/mixed'),
          ],
        },
      },
    });
    const env = { PATH, PLAIN: 'from-exec' };
    const out = await runExec({
      task,
      env,
      cwd: dirs.sandbox,
      values: { '/mixed': toBase64('secret') },
    });
    assert.equal(out.stdout.toString('utf8'), 'from-task,secret');
  });

  it('resolves a shared secret once for env and file', TIMEOUT, async () => {
    const task = shellTask('printf "%s|" "$U"; cat user', [secretVariable('U', '/my/secret')]);
    task.container = { type: 'MESOS', volumes: [secretVolume('user', 'my/secret')] };
    const values = { '/my/secret': toBase64('alice') };
    const out = await runExec({
      task,
      env: { PATH },
      cwd: dirs.sandbox,
      tmpfsDir: dirs.tmpfs,
      values,
    });
    assert.deepEqual(out.resolveCalls, [1]);
    assert.equal(out.stdout.toString('utf8'), 'alice|alice');
  });

  it('does not resolve when there are no secrets', TIMEOUT, async () => {
    const out = await runExec({ task: shellTask('true'), env: { PATH }, cwd: dirs.sandbox });
    assert.deepEqual(out.resolveCalls, []);
    assert.deepEqual(out.result, { code: 0, signal: null });
  });

  it('returns the exit code', TIMEOUT, async () => {
    const out = await runExec({ task: shellTask('exit 3'), env: { PATH }, cwd: dirs.sandbox });
    assert.deepEqual(out.result, { code: 3, signal: null });
  });

  it('returns the signal that killed the child', TIMEOUT, async () => {
    const task = shellTask('kill -TERM $$');
    const out = await runExec({ task, env: { PATH }, cwd: dirs.sandbox });
    assert.deepEqual(out.result, { code: null, signal: 'SIGTERM' });
  });

  it('forwards SIGTERM to the child', TIMEOUT, async () => {
    const script = 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done';
    const run = startExec({ task: shellTask(script), env: { PATH }, cwd: dirs.sandbox });
    await waitForStdout(run, 'ready');
    run.process.kill('SIGTERM');
    const out = await run.output;
    assert.deepEqual(out.result, { code: 7, signal: null });
    assert.match(out.stdout.toString('utf8'), /got-term/);
  });

  it('runs the given command over the task one', TIMEOUT, async () => {
    const command = ['/bin/sh', '-c', 'printf override'];
    const out = await runExec({
      task: shellTask('exit 9'),
      command,
      env: { PATH },
      cwd: dirs.sandbox,
    });
    assert.equal(out.stdout.toString('utf8'), 'override');
    assert.deepEqual(out.result, { code: 0, signal: null });
  });

  it('runs a non-shell command with argv0', TIMEOUT, async () => {
    const task = makeTask({
      command: {
        shell: false,
        value: '/bin/sh',
        arguments: ['named-zero', '-c', 'printf %s "$0"'],
      },
    });
    const out = await runExec({ task, env: { PATH }, cwd: dirs.sandbox });
    assert.equal(out.stdout.toString('utf8'), 'named-zero');
  });

  it('warns of executor secrets it does not deliver', TIMEOUT, async () => {
    const task = shellTask('true');
    const variables = [
      secretVariable('EXECUTOR_TOKEN', '/executor/token'),
      { name: 'EXECUTOR_PLAIN', value: 'plain' },
      secretVariable('EXECUTOR_KEY', '/executor/key'),
    ];
    task.executor = {
      executor_id: { value: 'custom' },
      command: { value: 'run-executor', environment: { variables } },
    };
    const out = await runExec({ task, env: { PATH }, cwd: dirs.sandbox });
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.ok(
      out.logs.includes(
        'warning: executor secrets are not delivered by tessera exec: EXECUTOR_TOKEN, EXECUTOR_KEY',
      ),
      out.logs.join('\n'),
    );
    assert.deepEqual(out.resolveCalls, []);
  });

  it('rejects a task without a command', TIMEOUT, async () => {
    const out = await runExec({ task: makeTask({}), env: { PATH }, cwd: dirs.sandbox });
    assert.equal(out.error?.code, 'INVALID_ARGUMENT');
    assert.match(out.error?.message ?? '', /after `--`/);
  });

  it('reports a missing executable and cleans up', TIMEOUT, async () => {
    const task = makeTask({ volumes: [secretVolume('key', '/k')] });
    const command = ['/nonexistent/tessera-test-program'];
    const config = { task, command, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs };
    const out = await runExec({ ...config, values: { '/k': toBase64('k') } });
    assert.equal(out.error?.code, 'DELIVERY_FAILED');
    assert.match(out.error?.message ?? '', /\/nonexistent\/tessera-test-program: ENOENT/);
    assert.deepEqual(await readdir(dirs.tmpfs), []);
    assert.deepEqual(await readdir(dirs.sandbox), []);
  });

  it('reports a file that is not executable', TIMEOUT, async () => {
    const program = join(dirs.root, 'not-executable');
    await writeFile(program, '#!/bin/sh\n', { mode: 0o600 });
    const config = { task: makeTask({}), command: [program], env: { PATH }, cwd: dirs.sandbox };
    const out = await runExec(config);
    assert.equal(out.error?.code, 'DELIVERY_FAILED');
    assert.match(out.error?.message ?? '', /EACCES/);
  });
});

describe('execTask env secret checks', () => {
  let dirs: Dirs;
  beforeEach(async () => {
    dirs = await makeDirs();
  });
  afterEach(async () => {
    await dirs.cleanup();
  });

  async function runWithBigEnv(value: string) {
    const task = shellTask('printf %s "$BIG_ENV" | wc -c; touch started', [
      secretVariable('BIG_ENV', '/big'),
    ]);
    task.container = { type: 'MESOS', volumes: [secretVolume('file', '/file')] };
    const values = { '/big': value, '/file': toBase64('file bytes') };
    return runExec({ task, env: { PATH }, cwd: dirs.sandbox, tmpfsDir: dirs.tmpfs, values });
  }

  it('accepts a value at MAX_ARG_STRLEN', TIMEOUT, async () => {
    const out = await runWithBigEnv(fixtureValue('/example-team/env-at-limit'));
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.equal(out.stdout.toString('utf8').trim(), '131063');
  });

  const rejected: [string, () => string, RegExp][] = [
    ['one byte over the limit', () => fixtureValue('/example-team/env-over-limit'), /131072/],
    ['a NUL byte', () => toBase64(Buffer.from('abc\0def')), /NUL/],
    ['invalid UTF-8', () => toBase64(Buffer.from([0x61, 0xff, 0xfe])), /UTF-8/],
  ];
  for (const [label, value, reason] of rejected) {
    it(`rejects ${label} before start`, TIMEOUT, async () => {
      const out = await runWithBigEnv(value());
      assert.equal(out.error?.code, 'DELIVERY_FAILED');
      assert.match(out.error?.message ?? '', /BIG_ENV/);
      assert.match(out.error?.message ?? '', reason);
      assert.equal(await exists(join(dirs.sandbox, 'started')), false);
      assert.deepEqual(await readdir(dirs.tmpfs), []);
      assert.deepEqual(await readdir(dirs.sandbox), []);
    });
  }
});
