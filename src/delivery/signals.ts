import { constants } from 'node:os';

import type { ExecResult } from './command.ts';

/** The signals `tessera exec` passes on to the task, so that it can stop or reload it. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];

/**
 * Catches the forwarded signals from `start` to `stop` and passes each to the attached
 * handler. A signal that arrives before a handler is attached is kept in `pending`, so
 * that the caller can clean up and not start the command. While the handlers are
 * installed the process does not die of these signals, which lets clean-up finish.
 */
export class SignalRelay {
  #handler: ((signal: NodeJS.Signals) => void) | undefined;
  #pending: NodeJS.Signals | undefined;
  readonly #listener = (signal: NodeJS.Signals): void => this.#forward(signal);

  /** The first signal received while no handler was attached. */
  get pending(): NodeJS.Signals | undefined {
    return this.#pending;
  }

  /** Installs the signal handlers. */
  start(): void {
    for (const signal of FORWARDED_SIGNALS) {
      process.on(signal, this.#listener);
    }
  }

  /** Passes the signals that arrive from now on to `handler`. */
  attach(handler: (signal: NodeJS.Signals) => void): void {
    this.#handler = handler;
  }

  /** Removes the signal handlers, restoring the process's previous behaviour. */
  stop(): void {
    for (const signal of FORWARDED_SIGNALS) {
      process.off(signal, this.#listener);
    }
    this.#handler = undefined;
  }

  #forward(signal: NodeJS.Signals): void {
    if (this.#handler === undefined) {
      this.#pending ??= signal;
      return;
    }
    this.#handler(signal);
  }
}

/**
 * Signals whose default action dumps core (signal(7)). Raising one of them again on
 * `tessera exec` would let the kernel write a core file of its memory, which contains the
 * resolved secrets and its token, wherever RLIMIT_CORE and core_pattern allow. Node
 * cannot lower RLIMIT_CORE.
 */
export const CORE_DUMP_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>([
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGSEGV',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGSYS',
]);

/** The exit status `tessera exec` uses when its command ended without a code or a signal. */
export const EXIT_STATUS_UNKNOWN = 2;

/**
 * The way `tessera exec` ends: by raising `signal` on itself, or by exiting with `code`
 * after logging `message` when one is given.
 */
export type ExitPlan =
  | { kind: 'raise'; signal: NodeJS.Signals }
  | { kind: 'exit'; code: number; message?: string };

/**
 * Maps how the command ended to how `tessera exec` should end, so that Mesos records the
 * command's real end. An exit code is passed on as it is, and a signal is raised again,
 * except SIGPIPE and a signal that dumps core. For those the status is 128 plus the
 * signal number, as a shell reports it, and no core file of `tessera exec` is written.
 */
export function planExit(result: ExecResult): ExitPlan {
  const signal = result.signal;
  if (signal === null) {
    return { kind: 'exit', code: result.code ?? EXIT_STATUS_UNKNOWN };
  }
  // Node.js ignores SIGPIPE in its own process, so raising it would end nothing.
  if (signal === 'SIGPIPE') return { kind: 'exit', code: 128 + constants.signals.SIGPIPE };
  if (!CORE_DUMP_SIGNALS.has(signal)) {
    return { kind: 'raise', signal };
  }

  const code = 128 + constants.signals[signal];
  return {
    kind: 'exit',
    code,
    message:
      `the command was killed by ${signal}; exiting with status ${code} instead of ` +
      `raising ${signal} again, so that no core dump of tessera exec, which holds the ` +
      'secrets, reaches disk',
  };
}
