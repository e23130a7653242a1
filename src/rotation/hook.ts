import { spawn } from 'node:child_process';
import type { RotationStep } from './policy.ts';

/** Input a hook reads on standard input for one step; never a secret value. */
export interface HookInput {
  path: string;
  step: RotationStep;
  pending_version: number | null;
  current_version: number | null;
  /** The server's address, for reading the versions through the API. */
  address: string;
  /** A short-lived token that may only read this one secret. */
  token: string;
}

/** The outcome of one hook step; output is counted, never kept, since it may print secrets. */
export interface HookResult {
  ok: boolean;
  /** A reason for the failure that contains no output of the hook. */
  reason: string;
  stdoutLines: number;
  stderrLines: number;
}

/**
 * Runs a hook command without a shell, writes `input` as JSON to its standard input, and
 * waits at most `timeoutMs`. The hook gets only PATH, LANG and HOME from the server's
 * environment. It runs in its own process group, which is killed with SIGKILL on timeout.
 */
export function runHook(
  command: readonly string[],
  input: HookInput,
  timeoutMs: number,
): Promise<HookResult> {
  const [program, ...args] = command;
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'LANG', 'HOME']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  const child = spawn(program as string, args, {
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const counts = { stdout: 0, stderr: 0 };
  child.stdout.on('data', (chunk: Buffer) => {
    counts.stdout += countLines(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    counts.stderr += countLines(chunk);
  });
  // A hook that exits without reading its input closes the pipe; that is not a failure.
  child.stdin.on('error', () => undefined);
  child.stdin.end(`${JSON.stringify(input)}\n`);

  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    const finish = (ok: boolean, reason: string) => {
      clearTimeout(timer);
      resolve({ ok, reason, stdoutLines: counts.stdout, stderrLines: counts.stderr });
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      finish(false, `hook could not start (${error.code ?? 'error'}); check its command path`);
    });
    child.on('close', (code, signal) => {
      if (timedOut) finish(false, `hook timed out after ${timeoutMs} ms in step ${input.step}`);
      else if (code === 0) finish(true, 'hook succeeded');
      else finish(false, `hook exited with ${code ?? signal} in step ${input.step}`);
    });
  });
}

function countLines(chunk: Buffer): number {
  let lines = 0;
  for (const byte of chunk) if (byte === 0x0a) lines++;
  return lines;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group has already ended.
  }
}
