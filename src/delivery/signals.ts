import type { ChildProcess } from 'node:child_process';

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
 * Catches the forwarded signals from `start` to `stop` and sends each to the attached
 * child. A signal that arrives before a child is attached is kept in `pending`, so that
 * the caller can clean up and not start the child. While the handlers are installed the
 * process does not die of these signals, which lets clean-up finish.
 */
export class SignalRelay {
  #child: ChildProcess | undefined;
  #pending: NodeJS.Signals | undefined;
  readonly #handler = (signal: NodeJS.Signals): void => this.#forward(signal);

  /** The first signal received while no child was attached. */
  get pending(): NodeJS.Signals | undefined {
    return this.#pending;
  }

  /** Installs the signal handlers. */
  start(): void {
    for (const signal of FORWARDED_SIGNALS) {
      process.on(signal, this.#handler);
    }
  }

  /** Sends the signals that arrive from now on to `child`. */
  attach(child: ChildProcess): void {
    this.#child = child;
  }

  /** Removes the signal handlers, restoring the process's previous behaviour. */
  stop(): void {
    for (const signal of FORWARDED_SIGNALS) {
      process.off(signal, this.#handler);
    }
    this.#child = undefined;
  }

  #forward(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (child === undefined) {
      this.#pending ??= signal;
      return;
    }

    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
    }
  }
}
