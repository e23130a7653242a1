import { setTimeout as sleep } from 'node:timers/promises';

import type { CommandSpec, ExecResult, StartedChild } from './command.ts';
import { type ChildOutput, startChild } from './command.ts';
import type { SignalRelay } from './signals.ts';

/** Time a command gets to stop after SIGTERM before a restart sends SIGKILL. */
export const DEFAULT_GRACE_MS = 10_000;

/** Options of `Supervisor`. */
export interface SupervisorOptions extends ChildOutput {
  cwd: string;
  /** Time between SIGTERM and SIGKILL when the command is restarted, in milliseconds. */
  graceMs: number;
  /** Receives a line when output is cut off after the command exits. */
  log?: (line: string) => void;
}

/**
 * Runs a command and restarts it on request (SIGTERM, a grace period, SIGKILL, start
 * again), so that a new environment reaches it. `wait` resolves only when the command
 * ends on its own or by a signal that was not a restart.
 */
export class Supervisor {
  readonly #spec: CommandSpec;
  readonly #options: SupervisorOptions;
  readonly #relay: SignalRelay;
  #current: StartedChild | undefined;
  #restarting: Promise<void> | undefined;
  #finished = false;

  constructor(spec: CommandSpec, options: SupervisorOptions, relay: SignalRelay) {
    this.#spec = spec;
    this.#options = options;
    this.#relay = relay;
  }

  /** Starts the command with `env`; throws DELIVERY_FAILED when it cannot be started. */
  async start(env: Record<string, string>): Promise<void> {
    this.#current = await startChild(this.#spec, { ...this.#options, env }, this.#relay);
  }

  /** Resolves with how the command ended, once it ended without a restart. */
  async wait(): Promise<ExecResult> {
    for (;;) {
      const started = this.#current as StartedChild;
      const result = await started.ended;
      if (this.#restarting !== undefined) {
        await this.#restarting;
        continue;
      }
      if (started !== this.#current) continue;
      this.#finished = true;
      return result;
    }
  }

  /** Tells whether the current process of the command is still running. */
  get running(): boolean {
    const child = this.#current?.child;
    return (
      !this.#finished && child !== undefined && child.exitCode === null && child.signalCode === null
    );
  }

  /** Sends `signal` to the running command. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#current?.child.kill(signal);
  }

  /**
   * Stops the command and starts it again with `env`. Does nothing when the command has
   * already ended on its own, because the task is then over.
   */
  async restart(env: Record<string, string>): Promise<void> {
    while (this.#restarting !== undefined) await this.#restarting;
    if (!this.running) return;

    this.#restarting = this.#stopAndStart(env);
    try {
      await this.#restarting;
    } finally {
      this.#restarting = undefined;
    }
  }

  async #stopAndStart(env: Record<string, string>): Promise<void> {
    const { child, ended } = this.#current as StartedChild;
    child.kill('SIGTERM');
    const stopped = await Promise.race([
      ended.then(() => true),
      sleep(this.#options.graceMs, false, { ref: false }),
    ]);
    if (!stopped) child.kill('SIGKILL');
    await ended;
    await this.start(env);
  }
}
