import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  type Dirs,
  isAlive,
  makeDirs,
  makeTask,
  type Run,
  startExec,
  waitForStdout,
} from './exec-harness.ts';

const TIMEOUT = { timeout: 30_000 };
const PATH = process.env.PATH ?? '/usr/bin:/bin';

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  return !isAlive(pid);
}

// Resolves with the process ids the command printed, one line `TAG PID` for each tag.
function printedPids(run: Run, ...tags: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${tags} PID on stdout: ${seen}`)), 10_000);
    run.process.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const pids = tags.map((tag) => new RegExp(`${tag} (\\d+)\\n`).exec(seen)?.[1]);
      if (pids.every((pid) => pid !== undefined)) {
        clearTimeout(timer);
        resolve(pids.map(Number));
      }
    });
  });
}

describe('execTask process group', () => {
  let dirs: Dirs;
  const started: number[] = [];
  beforeEach(async () => {
    dirs = await makeDirs();
  });
  afterEach(async () => {
    for (const pid of started.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await dirs.cleanup();
  });

  function start(script: string, graceMs = 10_000): Run {
    const task = makeTask({ command: { value: script } });
    return startExec({ task, env: { PATH }, cwd: dirs.sandbox, graceMs });
  }

  it('stops the processes the command started on SIGTERM', TIMEOUT, async () => {
    const run = start('sleep 300 & echo "background $!"; wait');
    const [pid] = (await printedPids(run, 'background')) as [number];
    started.push(pid);
    run.process.kill('SIGTERM');
    const out = await run.output;
    assert.deepEqual(out.result, { code: null, signal: 'SIGTERM' });
    assert.equal(await waitUntilGone(pid, 2000), true);
  });

  it('kills what ignores SIGTERM after the grace', TIMEOUT, async () => {
    const script = `sh -c 'trap "" TERM; exec sleep 300' & echo "background $!"; wait`;
    const run = start(script, 500);
    const [pid] = (await printedPids(run, 'background')) as [number];
    started.push(pid);
    const stopAt = Date.now();
    run.process.kill('SIGTERM');
    await run.output;
    assert.equal(await waitUntilGone(pid, 2000), true);
    assert.ok(Date.now() - stopAt >= 500);
  });

  // Runs a command that starts a process in the background, prints its id and exits.
  async function leaveBehind(script: string, graceMs?: number) {
    const run = start(script, graceMs);
    const [pid] = (await printedPids(run, 'background')) as [number];
    started.push(pid);
    return { pid, out: await run.output };
  }

  it('stops leftovers when the command exits', TIMEOUT, async () => {
    const { pid, out } = await leaveBehind('sleep 300 & echo "background $!"; exit 3');
    assert.deepEqual(out.result, { code: 3, signal: null });
    assert.equal(isAlive(pid), false);
    assert.ok(out.logs.some((line) => line.includes('processes it started still run')));
  });

  it('kills a leftover that ignores SIGTERM', TIMEOUT, async () => {
    const script = `sh -c 'trap "" TERM; exec sleep 300' & echo "background $!"; exit 0`;
    const { pid, out } = await leaveBehind(script, 500);
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.equal(await waitUntilGone(pid, 2000), true);
  });

  it('stops a process that left the group', TIMEOUT, async () => {
    // GNU timeout puts itself in a group of its own, in the command's session.
    const script = 'timeout 300 sleep 300 & echo "background $!"; exit 0';
    const { pid, out } = await leaveBehind(script, 500);
    assert.deepEqual(out.result, { code: 0, signal: null });
    assert.equal(await waitUntilGone(pid, 2000), true);
  });

  it('stops other groups on SIGTERM', TIMEOUT, async () => {
    const run = start('timeout 300 sleep 300 & echo "background $!"; wait');
    const [pid] = (await printedPids(run, 'background')) as [number];
    started.push(pid);
    run.process.kill('SIGTERM');
    await run.output;
    assert.equal(await waitUntilGone(pid, 2000), true);
  });

  it('kills at once on a second SIGTERM', TIMEOUT, async () => {
    const script = `sh -c 'trap "" TERM; exec sleep 300' & echo "background $!"; wait`;
    const run = start(script, 20_000);
    const [pid] = (await printedPids(run, 'background')) as [number];
    started.push(pid);
    run.process.kill('SIGTERM');
    await sleep(300);
    const againAt = Date.now();
    run.process.kill('SIGTERM');
    const out = await run.output;
    assert.ok(Date.now() - againAt < 5000, 'exec waited out the grace period');
    assert.equal(await waitUntilGone(pid, 2000), true);
    assert.ok(out.logs.some((line) => line.includes('received SIGTERM again')));
  });

  it('kills the command when exec is killed', TIMEOUT, async () => {
    const run = start('echo "main $$"; sleep 300 & echo "background $!"; wait');
    const [main, background] = (await printedPids(run, 'main', 'background')) as [number, number];
    started.push(main, background);
    // The guard starts right after the command; a command that prints at once can be
    // faster than that spawn.
    await sleep(300);
    // Only tessera exec itself, not its process group.
    process.kill(run.process.pid as number, 'SIGKILL');
    await run.output;
    assert.equal(await waitUntilGone(main, 3000), true);
    assert.equal(await waitUntilGone(background, 3000), true);
  });

  it('passes SIGHUP to the main process only', TIMEOUT, async () => {
    const script =
      `sh -c 'trap "echo child-hup" HUP; while :; do sleep 0.1; done' & ` +
      'trap \'echo "main-hup"; kill $!; exit 0\' HUP; echo ready; wait; wait';
    const run = start(script);
    await waitForStdout(run, 'ready');
    run.process.kill('SIGHUP');
    const out = await run.output;
    const stdout = out.stdout.toString('utf8');
    assert.match(stdout, /main-hup/);
    assert.doesNotMatch(stdout, /child-hup/);
  });
});
