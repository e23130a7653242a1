import { type ChildProcess, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { TaskInfo } from '../../src/mesos/types.ts';

const EXEC_MODULE = new URL('../../src/delivery/exec.ts', import.meta.url).href;

// Runs execTask in its own process, so that the test can send it signals and capture the
// child's stdout. The configuration comes on stdin, because a large secret in argv would
// hit the same execve limit that the tests probe. Secrets resolve from `values` (base64 by reference name); inline values
// pass through. Diagnostics go to stderr as tagged lines.
const RUNNER = `
const { execTask } = await import(${JSON.stringify(EXEC_MODULE)});
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const config = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const say = (tag, data) => process.stderr.write(tag + ' ' + JSON.stringify(data) + '\\n');
const resolve = async (secrets) => {
  say('RESOLVE', secrets.length);
  if (config.failResolve) throw new Error('backend unreachable');
  return secrets.map((s) =>
    Buffer.from(s.reference ? config.values[s.reference.name] : s.value.data, 'base64'));
};
try {
  const result = await execTask({
    task: config.task, command: config.command, env: config.env, cwd: config.cwd,
    tmpfsDir: config.tmpfsDir, graceMs: config.graceMs, resolve, log: (line) => say('LOG', line),
  });
  say('RESULT', result);
} catch (error) {
  say('ERROR', { code: error.code, message: error.message });
}
`;

/** Input for one run of execTask in a separate node process. */
export interface RunConfig {
  task: TaskInfo;
  command?: string[];
  env: Record<string, string>;
  cwd: string;
  tmpfsDir?: string;
  graceMs?: number;
  values?: Record<string, string>;
  failResolve?: boolean;
}

/** The output of one run: child stdout, exec diagnostics, and the result or error. */
export interface RunOutput {
  stdout: Buffer;
  logs: string[];
  resolveCalls: number[];
  result?: { code: number | null; signal: string | null };
  error?: { code: string; message: string };
  stderr: string;
}

/** A running exec process and the promise of its output. */
export interface Run {
  process: ChildProcess;
  output: Promise<RunOutput>;
}

const RUN_TIMEOUT_MS = 20_000;

/** Starts execTask in a node process; the process is killed after RUN_TIMEOUT_MS. */
export function startExec(config: RunConfig): Run {
  // Its own process group lets a timeout kill the task too, which would otherwise keep the
  // output pipes open and the test file running.
  const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin.end(JSON.stringify(config));
  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });

  const output = new Promise<RunOutput>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`exec runner timed out after ${RUN_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once('close', () => {
      clearTimeout(timer);
      resolve(parseOutput(Buffer.concat(stdout), stderr));
    });
  });
  return { process: child, output };
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group has already exited.
  }
}

/** Runs execTask in a node process and returns its output. */
export function runExec(config: RunConfig): Promise<RunOutput> {
  return startExec(config).output;
}

function parseOutput(stdout: Buffer, stderr: string): RunOutput {
  const output: RunOutput = { stdout, logs: [], resolveCalls: [], stderr };
  for (const line of stderr.split('\n')) {
    const space = line.indexOf(' ');
    const tag = line.slice(0, space);
    const data = space > 0 ? JSON.parse(line.slice(space + 1)) : undefined;
    if (tag === 'LOG') output.logs.push(data);
    if (tag === 'RESOLVE') output.resolveCalls.push(data);
    if (tag === 'RESULT') output.result = data;
    if (tag === 'ERROR') output.error = data;
  }
  return output;
}

/** Resolves when `text` appears on the run's stdout, or rejects after `timeoutMs`. */
export function waitForStdout(run: Run, text: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      run.process.stdout?.off('data', onData);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${text} on stdout`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      if (seen.includes(text)) {
        clearTimeout(timer);
        run.process.stdout?.off('data', onData);
        resolve();
      }
    };
    run.process.stdout?.on('data', onData);
  });
}

/** A sandbox and a tmpfs directory for one test, removed by `cleanup`. */
export interface Dirs {
  root: string;
  sandbox: string;
  tmpfs: string;
  cleanup: () => Promise<void>;
}

/** Creates a sandbox under the system temp directory and a tmpfs directory under /dev/shm. */
export async function makeDirs(): Promise<Dirs> {
  const root = await mkdtemp(join(tmpdir(), 'tessera-exec-test-'));
  const sandbox = join(root, 'sandbox');
  const tmpfs = await mkdtemp('/dev/shm/tessera-exec-test-');
  await mkdir(sandbox);
  const cleanup = async (): Promise<void> => {
    await rm(root, { recursive: true, force: true });
    await rm(tmpfs, { recursive: true, force: true });
  };
  return { root, sandbox, tmpfs, cleanup };
}

/** Returns the contents of every regular file under `dir`, following no links. */
export async function readRegularFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    if ((await lstat(path)).isFile()) {
      files.set(path, await readFile(path));
    }
  }
  return files;
}

/** Builds a TaskInfo with the given command, variables and volumes. */
export function makeTask(parts: {
  command?: TaskInfo['command'];
  volumes?: NonNullable<TaskInfo['container']>['volumes'];
}): TaskInfo {
  const task: TaskInfo = { name: 'exec-test', task_id: { value: 'exec-test.1' } };
  if (parts.command) task.command = parts.command;
  if (parts.volumes) task.container = { type: 'MESOS', volumes: parts.volumes };
  return task;
}

/** Returns a `SECRET` volume of a reference to `name`. */
export function secretVolume(containerPath: string, name: string, mode: 'RO' | 'RW' = 'RO') {
  return {
    mode,
    container_path: containerPath,
    source: {
      type: 'SECRET' as const,
      secret: { type: 'REFERENCE' as const, reference: { name } },
    },
  };
}

/** Returns a `SECRET` environment variable of a reference to `name`. */
export function secretVariable(variable: string, name: string) {
  return {
    name: variable,
    type: 'SECRET' as const,
    secret: { type: 'REFERENCE' as const, reference: { name } },
  };
}

/** Returns the base64 form of a string or buffer, as the resolver's values table wants it. */
export function toBase64(value: string | Buffer): string {
  return Buffer.from(value).toString('base64');
}

/** Tells whether a process with this id exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
