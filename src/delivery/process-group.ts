import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { errorCode } from './tmpfs.ts';

/** How often `stopProcessGroup` checks whether the group has ended, in milliseconds. */
const GROUP_POLL_MS = 50;

/**
 * The processes of one start of the command. With `ownGroup`, the child leads its own
 * process group (and session), so that a signal to the group also reaches the processes
 * it started, a shell's children among them. Without it, only the child is signalled.
 */
export interface CommandProcess {
  child: ChildProcess;
  ownGroup: boolean;
}

/** Sends `signal` to the command's process group, or to the child alone without one. */
export function signalGroup(command: CommandProcess, signal: NodeJS.Signals): void {
  const pid = command.child.pid;
  if (pid === undefined) return;
  if (!command.ownGroup) {
    if (isRunning(command.child)) command.child.kill(signal);
    return;
  }

  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: every process of the group has ended.
    if (errorCode(error) !== 'ESRCH') throw error;
  }
}

/** Tells whether any process of the command's group, or the child without one, runs. */
export function groupAlive(command: CommandProcess): boolean {
  const pid = command.child.pid;
  if (pid === undefined) return false;
  if (!command.ownGroup) return isRunning(command.child);

  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    // EPERM means a process of the group exists but belongs to another user.
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Stops the command: SIGTERM to its group, then SIGKILL to what is left of the group
 * after `graceMs`. Resolves once the group has ended or SIGKILL was sent. With a group
 * of its own, the command also leads a session, and processes of that session in other
 * groups get the same signals. A process can leave a group with setpgid(2), as GNU
 * `timeout` does, but only setsid(2) takes it out of the session.
 */
export async function stopProcessGroup(command: CommandProcess, graceMs: number): Promise<void> {
  signalAll(command, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  // The timer keeps the process alive: once the child itself is gone, nothing else may.
  while (anyAlive(command) && Date.now() < deadline) {
    await sleep(GROUP_POLL_MS);
  }
  if (anyAlive(command)) signalAll(command, 'SIGKILL');
}

/**
 * Tells whether any process of the command's group or session, or the child without a
 * group of its own, runs.
 */
export function anyAlive(command: CommandProcess): boolean {
  return groupAlive(command) || otherGroupsOfSession(command).length > 0;
}

/** Sends SIGKILL to every process of the command's group and session at once. */
export function killAll(command: CommandProcess): void {
  signalAll(command, 'SIGKILL');
}

function signalAll(command: CommandProcess, signal: NodeJS.Signals): void {
  signalGroup(command, signal);
  for (const pid of otherGroupsOfSession(command)) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if (errorCode(error) !== 'ESRCH') throw error;
    }
  }
}

// The processes of the command's session that are not in its group, read from /proc.
// Without /proc (not Linux), none are found, and only the group is stopped.
function otherGroupsOfSession(command: CommandProcess): number[] {
  const session = command.child.pid;
  if (!command.ownGroup || session === undefined) return [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const ids = groupAndSession(entry);
    if (ids !== undefined && ids.session === session && ids.group !== session) {
      found.push(Number(entry));
    }
  }
  return found;
}

// Reads a process's group and session from /proc/PID/stat: `PID (NAME) STATE PPID PGRP
// SESSION ...`. The name may contain spaces and parentheses, so fields count from the last
// parenthesis.
function groupAndSession(pid: string): { group: number; session: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // The process ended while the list was read.
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { group: Number(fields[2]), session: Number(fields[3]) };
}

/**
 * A small shell that kills the command's process group when `tessera exec` dies without
 * its clean-up (SIGKILL, a crash): it reads its standard input, a pipe from `tessera
 * exec`, and gets end-of-file when the kernel closes that pipe with the process.
 * `release` tells it that the group is taken care of, and it exits without killing.
 * It runs in a session of its own, so that a signal to `tessera exec`'s process group
 * does not end it first.
 * NOTE: if the whole group ends and its id is reused by a new group leader before the
 * shell acts, the shell kills that group. The window is the time between the end of the
 * command and the next `release`, which `tessera exec` calls as soon as the child exits.
 */
export class GroupWatchdog {
  readonly #shell: ChildProcess | undefined;

  private constructor(shell: ChildProcess | undefined) {
    this.#shell = shell;
  }

  /** Starts a watchdog for `command`; returns one that does nothing if it cannot start. */
  static start(command: CommandProcess): GroupWatchdog {
    const pid = command.child.pid;
    if (pid === undefined) return new GroupWatchdog(undefined);

    const target = command.ownGroup ? `-${pid}` : String(pid);
    const shell = spawn(
      '/bin/sh',
      ['-c', 'read _ || kill -KILL "$1"', 'tessera-watchdog', target],
      {
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
      },
    );
    // The watchdog must never keep `tessera exec` running, nor fail it.
    shell.on('error', () => undefined);
    shell.stdin?.on('error', () => undefined);
    shell.unref();
    (shell.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return new GroupWatchdog(shell);
  }

  /** Lets the watchdog exit without killing anything. */
  release(): void {
    const stdin = this.#shell?.stdin;
    if (stdin === null || stdin === undefined || stdin.destroyed) return;
    stdin.end('released\n');
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
