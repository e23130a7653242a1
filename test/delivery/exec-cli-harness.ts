import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TESSERA_BIN } from '../helpers/cli.ts';

/** A running `tessera exec` and what it has printed so far. */
export interface ExecCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when `text` has appeared on stdout (or stderr), or rejects after `timeoutMs`. */
  waitFor(text: string | RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<void>;
  /** Resolves with the exit code and signal; kills the process group after `timeoutMs`. */
  ended(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops the run and everything it started. */
  kill(): void;
}

/** A directory for one test, with a task file written into it. */
export interface TaskDir {
  dir: string;
  taskFile: string;
  cleanup(): Promise<void>;
}

/** Writes `task` as JSON into a new temporary directory. */
export async function writeTaskDir(task: unknown): Promise<TaskDir> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-exec-cli-'));
  const taskFile = join(dir, 'task.json');
  await writeFile(taskFile, JSON.stringify(task));
  return { dir, taskFile, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Starts `tessera exec ARGS` in its own process group, so that a test can end all of it.
 * Its stdout goes to the file descriptor `stdout` when one is given, else to a pipe whose
 * output `stdout()` returns.
 */
export function startExecCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  stdout?: number,
): ExecCli {
  const child = spawn(TESSERA_BIN, ['exec', ...args], {
    env,
    cwd,
    detached: true,
    stdio: ['pipe', stdout ?? 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  // SIGTERM first, so that `tessera exec` removes its files; the group is killed if it
  // has not ended after a grace time.
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    setTimeout(killGroup, 5000).unref();
  };

  const waitFor = (text: string | RegExp, timeoutMs = 10_000, stream = 'stdout') =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const seen = stream === 'stdout' ? out : err;
        const found = typeof text === 'string' ? seen.includes(text) : text.test(seen);
        if (found) {
          clearInterval(poll);
          resolve();
        } else if (Date.now() - started > timeoutMs) {
          clearInterval(poll);
          reject(
            new Error(
              `timed out waiting for ${text} on ${stream}\n` +
                `stdout: ${lastChars(out)}\nstderr: ${lastChars(err)}`,
            ),
          );
        }
      }, 50);
    });

  const ended = async (timeoutMs = 20_000) => {
    const timer = setTimeout(killGroup, timeoutMs);
    try {
      return await exit;
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, stdout: () => out, stderr: () => err, waitFor, ended, kill };
}

// Returns the last `count` characters of a run's output for an error message. A command
// that writes without end would otherwise make a message of gigabytes.
function lastChars(text: string, count = 4000): string {
  return text.length <= count ? text : `...${text.slice(-count)}`;
}

/** Builds a TaskInfo whose shell command gets `variables` and `volumes`. */
export function shellTask(
  script: string,
  variables: unknown[] = [],
  volumes: unknown[] = [],
  labels: { key: string; value: string }[] = [],
) {
  return {
    name: 'exec-cli-test',
    task_id: { value: `exec-cli-test.${process.pid}.${Date.now()}` },
    command: { value: script, environment: { variables } },
    ...(volumes.length > 0 ? { container: { type: 'MESOS', volumes } } : {}),
    ...(labels.length > 0 ? { labels: { labels } } : {}),
  };
}

/** A `SECRET` variable referring to `path`. */
export function envSecret(name: string, path: string) {
  return { name, type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: path } } };
}

/** A read-only `SECRET` volume referring to `path`. */
export function fileSecret(containerPath: string, path: string) {
  return {
    mode: 'RO',
    container_path: containerPath,
    source: { type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: path } } },
  };
}

/** The environment of a `tessera exec` that talks to `address` with `token`. */
export function execEnv(address: string, token: string, extra: NodeJS.ProcessEnv = {}) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    TESSERA_ADDR: address,
    TESSERA_TOKEN: token,
    ...extra,
  };
}
