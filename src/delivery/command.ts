import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { TesseraError } from '../errors.ts';
import type { TaskInfo } from '../mesos/types.ts';
import { type OutputSink, pipeOutput } from './output-reader.ts';
import { type CommandProcess, GroupWatchdog } from './process-group.ts';
import { errorCode } from './tmpfs.ts';

/** A program to run: the file to execute, its arguments, and its argv[0] when that differs. */
export interface CommandSpec {
  file: string;
  args: string[];
  argv0?: string;
}

/** The outcome of the child process: its exit code, or the signal that killed it. */
export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /**
   * True when output was dropped at a stop because its reader took nothing (see
   * `hurryOutput`), so exec need not wait for its last writes.
   */
  outputDropped?: boolean;
}

/**
 * Returns the program to run: `command` when it is not empty, else the task's
 * `CommandInfo`. Throws INVALID_ARGUMENT when neither gives one.
 */
export function commandToRun(task: TaskInfo, command?: readonly string[]): CommandSpec {
  if (command !== undefined && command.length > 0) {
    const [file, ...args] = command as [string, ...string[]];
    return { file, args };
  }

  const info = task.command;
  if (info?.value === undefined || info.value === '') {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `task ${task.task_id.value} has no command to run; give the command after \`--\``,
      { taskId: task.task_id.value },
    );
  }

  // `CommandInfo.shell` defaults to true in mesos.proto, and `value` then runs under
  // `/bin/sh -c`. Without the shell, `value` is the executable and `arguments` the whole
  // argv, argv[0] included, as the Mesos launcher passes them to execvp.
  if (info.shell !== false) {
    return { file: '/bin/sh', args: ['-c', info.value] };
  }

  const [argv0, ...args] = info.arguments ?? [];
  return argv0 === undefined ? { file: info.value, args } : { file: info.value, args, argv0 };
}

/** Where the child's stdout and stderr go: inherited, or piped into these streams. */
export interface ChildOutput {
  stdout?: OutputSink;
  stderr?: OutputSink;
}

/** Options of `startChild`. */
export interface ChildOptions extends ChildOutput {
  env: Record<string, string>;
  cwd: string;
  /** Starts the child in a process group and session of its own; see `CommandProcess`. */
  ownGroup?: boolean;
  /** Receives a line when output is cut off after the command exits. */
  log?: (line: string) => void;
}

/** A started child and the promise of how it ended, after its output is passed on. */
export interface StartedChild extends CommandProcess {
  ended: Promise<ExecResult>;
  /**
   * Counts the time in which the output waits for its destination toward the wait after
   * the exit, as when exec is asked to stop: a reader that takes nothing then no longer
   * keeps exec running.
   */
  hurryOutput(): void;
  /** Kills the child's group if `tessera exec` dies; release it once the group is stopped. */
  watchdog: GroupWatchdog;
}

// A grandchild that keeps the pipes open must not stall the exit, so the wait for the
// rest of the output after the child exits is bounded. Time in which the output waits
// for its destination, as for a slow reader, does not count while the output read since
// the exit is no more than the pipe held (`EXIT_BACKLOG_BYTES`).
export const OUTPUT_DRAIN_MS = 2000;

// The maximum output a pipe of the child holds when it exits, with room to spare: Linux
// gives the socket pair of a child's stdio 208 KiB (net.core.wmem_default) by default.
const EXIT_BACKLOG_BYTES = 256 * 1024;

// How often the wait checks whether the output waits for its destination.
const DRAIN_CHECK_MS = 100;

/**
 * Starts the program, with stdin inherited and stdout and stderr inherited or piped into
 * the given streams, which are not ended. Throws DELIVERY_FAILED, naming the program,
 * when it cannot be started.
 */
export function startChild(spec: CommandSpec, options: ChildOptions): Promise<StartedChild> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(spec.file, spec.args, {
        argv0: spec.argv0,
        env: options.env,
        cwd: options.cwd,
        // Node offers setsid(), not setpgid() alone, so the group comes with a session.
        detached: options.ownGroup === true,
        stdio: [
          'inherit',
          options.stdout ? 'pipe' : 'inherit',
          options.stderr ? 'pipe' : 'inherit',
        ],
      });
    } catch (error) {
      // The message of a synchronous spawn error can quote the environment, so only the
      // code is reported.
      reject(startError(spec, options.cwd, error));
      return;
    }

    // Started at once, so that the time in which a SIGKILL of `tessera exec` leaves the
    // child unguarded is as short as spawning a process.
    const ownGroup = options.ownGroup === true;
    const watchdog = GroupWatchdog.start({ child, ownGroup });
    const outputs = [
      relayOutput(child.stdout, options.stdout),
      relayOutput(child.stderr, options.stderr),
    ];
    const hurry = { set: false };
    const ended = new Promise<ExecResult>((done) => {
      child.once('exit', async (code, signal) => {
        const exitedAt = performance.now();
        if (await outputEnded(outputs, () => hurry.set)) {
          done({ code, signal });
          return;
        }
        cutOutput(outputs);
        // The caller reports output dropped at a stop, together with what it drops itself.
        if (hurry.set) {
          done({ code, signal, outputDropped: true });
          return;
        }
        const seconds = ((performance.now() - exitedAt) / 1000).toFixed(0);
        options.log?.(
          `the command exited, but a process it started still holds its output open; ` +
            `output after ${seconds} s is dropped`,
        );
        done({ code, signal });
      });
    });
    child.on('error', (error) => {
      if (child.pid === undefined) reject(startError(spec, options.cwd, error));
    });
    child.once('spawn', () => {
      const hurryOutput = () => {
        hurry.set = true;
      };
      resolve({ child, ended, ownGroup, watchdog, hurryOutput });
    });
  });
}

/** One output pipe of the child: the stream that reads it, if any, and its end. */
export interface RelayedOutput {
  source?: Readable;
  sink?: OutputSink;
  ended: Promise<void>;
  isWaiting(): boolean;
  bytesRead(): number;
}

function relayOutput(from: Readable | null, to: OutputSink | undefined): RelayedOutput {
  const none = { isWaiting: () => false, bytesRead: () => 0 };
  if (from === null || to === undefined) return { ended: Promise.resolve(), ...none };
  // Once `to` is destroyed, as when the reader of the output has gone, closing the pipe
  // lets the command see a closed pipe instead of blocking on a full one.
  if ((to as Partial<Writable>).destroyed === true) {
    from.destroy();
    return { source: from, ended: endOf(from), ...none };
  }
  const { source, isWaiting, bytesRead } = pipeOutput(from, to);
  const closeSource = () => source.destroy();
  to.once('close', closeSource);
  const ended = endOf(source).then(() => {
    to.removeListener('close', closeSource);
  });
  return { source, sink: to, ended, isWaiting, bytesRead };
}

/**
 * Waits for the end of the output after the child exits. Returns false once the output
 * has not ended in `OUTPUT_DRAIN_MS`. Time in which it waited for its destination does
 * not count until more than `EXIT_BACKLOG_BYTES` came after the exit (output beyond what
 * the pipe held is a background process's), or until `hurried` returns true.
 */
export async function outputEnded(
  outputs: RelayedOutput[],
  hurried: () => boolean = () => false,
): Promise<boolean> {
  const ended = Promise.all(outputs.map((output) => output.ended)).then(() => true);
  const atExit = outputs.map((output) => output.bytesRead());
  // The maximum that one of the pipes gave since the exit.
  const readSinceExit = () =>
    Math.max(...outputs.map((output, i) => output.bytesRead() - (atExit[i] as number)));
  for (let left = OUTPUT_DRAIN_MS; left > 0; ) {
    if (await Promise.race([ended, sleep(DRAIN_CHECK_MS, false, { ref: false })])) return true;
    const waiting = outputs.some((output) => output.isWaiting());
    if (!waiting || hurried() || readSinceExit() > EXIT_BACKLOG_BYTES) left -= DRAIN_CHECK_MS;
  }
  return false;
}

function endOf(stream: Readable): Promise<void> {
  return new Promise<void>((done) => {
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', () => done());
  });
}

// Closes this end of the command's pipes, which a process the command started may still
// hold, so that they no longer keep `tessera exec` running. Later output is lost, and so
// is output held back as the start of a possible secret, whose rest will not come.
function cutOutput(outputs: RelayedOutput[]): void {
  for (const { source, sink } of outputs) {
    source?.unpipe();
    source?.destroy();
    sink?.cut?.();
  }
}

function startError(spec: CommandSpec, cwd: string, error: unknown): TesseraError {
  const code = errorCode(error);
  return new TesseraError(
    'DELIVERY_FAILED',
    `failed to start ${spec.file}: ${code}; check that it exists and is executable, ` +
      `and that the working directory ${cwd} exists`,
    { command: spec.file, code, exitStatus: startFailureStatus(code) },
  );
}

/**
 * Returns the status a shell gives a command that it cannot start: 127 when the program
 * (or the working directory) does not exist, 126 when it cannot be run. `env`, `nohup`
 * and `timeout` give the same.
 */
export function startFailureStatus(code: string): number {
  return code === 'ENOENT' ? 127 : 126;
}
