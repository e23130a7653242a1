import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CORE_DUMP_SIGNALS, planExit } from '../../src/delivery/signals.ts';

const TESSERA = fileURLToPath(new URL('../../bin/tessera', import.meta.url));
const RUN_TIMEOUT_MS = 20_000;
const CANARY = 'CANARY-core-9d41-do-not-dump';

describe('planExit', () => {
  it('passes an exit code on', () => {
    assert.deepEqual(planExit({ code: 3, signal: null }), { kind: 'exit', code: 3 });
  });

  it('exits 2 without code or signal', () => {
    assert.deepEqual(planExit({ code: null, signal: null }), { kind: 'exit', code: 2 });
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL', 'SIGUSR1'] as const) {
    it(`raises ${signal} again`, () => {
      assert.deepEqual(planExit({ code: null, signal }), { kind: 'raise', signal });
    });
  }

  it('exits 141 for SIGPIPE', () => {
    assert.deepEqual(planExit({ code: null, signal: 'SIGPIPE' }), { kind: 'exit', code: 141 });
  });

  for (const signal of CORE_DUMP_SIGNALS) {
    it(`exits 128 + N for ${signal}`, () => {
      const plan = planExit({ code: null, signal });
      assert.equal(plan.kind, 'exit');
      assert.equal(plan.kind === 'exit' && plan.code, 128 + constants.signals[signal]);
      assert.match(plan.kind === 'exit' ? (plan.message ?? '') : '', new RegExp(signal));
    });
  }

  it('lists the ten core-dumping signals', () => {
    assert.deepEqual([...CORE_DUMP_SIGNALS].sort(), [
      'SIGABRT',
      'SIGBUS',
      'SIGFPE',
      'SIGILL',
      'SIGQUIT',
      'SIGSEGV',
      'SIGSYS',
      'SIGTRAP',
      'SIGXCPU',
      'SIGXFSZ',
    ]);
  });
});

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// Runs `tessera exec` with core dumps allowed (`ulimit -c unlimited`), as an agent might.
// The task lowers its own limit before it kills itself, so that any core file in the
// working directory can only be one of tessera exec. `shell` is the line that runs it,
// with `$0` for the `tessera` launcher.
function runCli(
  dir: string,
  script: string,
  shell = 'ulimit -c unlimited; exec "$0" exec --task task.json',
): Promise<CliRun> {
  const child = spawn('/bin/sh', ['-c', shell, TESSERA], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TESSERA_TOKEN: 'tsr_unused' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera exec ran over ${RUN_TIMEOUT_MS} ms running ${script}`));
    }, RUN_TIMEOUT_MS);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function writeTask(dir: string, script: string): Promise<void> {
  const variable = {
    name: 'CANARY',
    type: 'SECRET',
    secret: { type: 'VALUE', value: { data: Buffer.from(CANARY).toString('base64') } },
  };
  const task = {
    name: 'core',
    task_id: { value: 'core.1' },
    command: { value: script, environment: { variables: [variable] } },
  };
  await writeFile(join(dir, 'task.json'), JSON.stringify(task));
}

describe('tessera exec after a core-dumping signal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-core-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGQUIT', 'SIGSEGV'] as const) {
    it(`exits 128 + N for ${signal} without a core file`, { timeout: 30_000 }, async () => {
      const script = `ulimit -c 0; kill -${signal.slice(3)} $$`;
      await writeTask(dir, script);
      const run = await runCli(dir, script);
      assert.equal(run.signal, null);
      assert.equal(run.code, 128 + constants.signals[signal]);
      assert.match(run.stderr, new RegExp(`killed by ${signal}`));
      assert.deepEqual(
        (await readdir(dir)).filter((name) => name.startsWith('core')),
        [],
      );
      assert.equal(run.stderr.includes(CANARY), false);
    });
  }

  it('writes all output before raising a signal', { timeout: 30_000 }, async () => {
    // More than a pipe holds, through a pipe to a shell loop that reads a byte at a time,
    // so that some output waits in exec when the command kills itself.
    const script = 'seq 1 60000; echo LAST-LINE; kill -TERM $$';
    await writeTask(dir, script);
    const run = await runCli(
      dir,
      script,
      '"$0" exec --task task.json | while IFS= read -r line; do echo "$line"; done',
    );
    assert.ok(run.stdout.endsWith('59999\n60000\nLAST-LINE\n'), run.stdout.slice(-40));
  });

  it('raises SIGTERM again', { timeout: 30_000 }, async () => {
    const script = 'kill -TERM $$';
    await writeTask(dir, script);
    const run = await runCli(dir, script);
    assert.equal(run.code, null);
    assert.equal(run.signal, 'SIGTERM');
  });
});
