import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** The `tessera` launcher of this checkout. */
export const TESSERA_BIN = join(import.meta.dirname, '..', '..', 'bin', 'tessera');

/** What a finished command printed, and how it ended. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `tessera ARGS` to completion (at most `timeoutMs`), feeding `input` on stdin. */
export function runTessera(
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer; timeoutMs?: number },
): Promise<RunResult> {
  const child = spawn(TESSERA_BIN, args, {
    env: options.env,
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 30_000,
  });
  child.stdin.end(options.input ?? '');
  return collect(child);
}

/** Waits for a child to end and collects its output. */
export function collect(child: ChildProcess): Promise<RunResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString(),
      });
    });
  });
}

/** A `tessera server` child process and what it has printed. */
export interface ServerProcess {
  address: string;
  rootToken: string | undefined;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `tessera server ARGS` on a free port and waits (at most 20 s) until its banner
 * gives the address.
 */
export async function startServerProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ServerProcess> {
  const child = spawn(TESSERA_BIN, ['server', '--port', '0', ...args], { env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });

  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start within 20 s:\n${output}`)),
      20_000,
    );
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  const rootToken = /Root token: (\S+)/.exec(output)?.[1];

  const stop = async () => {
    if (child.exitCode !== null) return;
    const ended = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await ended;
  };
  return { address, rootToken, child, output: () => output, stop };
}
