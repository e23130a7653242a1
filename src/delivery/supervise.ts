import type { CommandSpec, ExecResult, StartedChild } from './command.ts';
import { type ChildOutput, startChild } from './command.ts';
import { anyAlive, killAll, signalGroup, stopProcessGroup } from './process-group.ts';
import type { SignalRelay } from './signals.ts';

/** Time a command gets to stop after SIGTERM before it is sent SIGKILL. */
export const DEFAULT_GRACE_MS = 10_000;

// A terminal sends these to its whole foreground process group, so they go to the
// command's group too. Other forwarded signals, such as SIGHUP for a reload, go to the
// command's main process only, and SIGTERM stops the command.
const GROUP_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT']);

/** Options of `Supervisor`. */
export interface SupervisorOptions extends ChildOutput {
  cwd: string;
  /** Time between SIGTERM and SIGKILL when the command is stopped or restarted, in ms. */
  graceMs: number;
  /** Starts the command in a process group of its own; see `CommandProcess`. */
  ownGroup: boolean;
  /** Receives a line when output is cut off or a restart is dropped. */
  log?: (line: string) => void;
}

/**
 * Runs a command and restarts it on request (SIGTERM, a grace period, SIGKILL, start
 * again), so that a new environment reaches it. It takes the signals of the relay: a
 * SIGTERM stops the command the same way and ends every restart, and the others are
 * passed on. `wait` resolves only when the command ends on its own or is stopped.
 */
export class Supervisor {
  readonly #spec: CommandSpec;
  readonly #options: SupervisorOptions;
  #current: StartedChild | undefined;
  #restarting: Promise<boolean> | undefined;
  #stopSignal: NodeJS.Signals | undefined;
  #stopping: Promise<void> | undefined;
  #finished = false;
  readonly #stopRequested = new AbortController();

  constructor(spec: CommandSpec, options: SupervisorOptions, relay: SignalRelay) {
    this.#spec = spec;
    this.#options = options;
    relay.attach((signal) => this.#onSignal(signal));
  }

  /**
   * Starts the command with `env`, unless it was asked to stop. Throws DELIVERY_FAILED
   * when it cannot be started.
   */
  async start(env: Record<string, string>): Promise<void> {
    if (this.#stopSignal !== undefined) return;
    this.#current = await startChild(this.#spec, { ...this.#options, env });
    // A stop that arrived while the child was being started reaches it now.
    if (this.#stopSignal !== undefined) this.#stopping = this.#stopCurrent();
  }

  /** Resolves with how the command ended, once it ended without a restart. */
  async wait(): Promise<ExecResult> {
    for (;;) {
      const current = this.#current;
      if (current === undefined) return { code: null, signal: this.#stopSignal ?? null };
      const result = await current.ended;
      if (this.#restarting !== undefined) {
        await this.#restarting;
        continue;
      }
      if (current !== this.#current) continue;

      // Processes that the command started and left running have the secrets in their
      // environment, and would outlive the files and the task. So the end of the command
      // ends its group, as a SIGTERM would.
      if (this.#stopping === undefined && anyAlive(current)) {
        this.#options.log?.(
          'the command exited, but processes it started still run; stopping them ' +
            '(SIGTERM, then SIGKILL after the grace period)',
        );
        this.#stopping = this.#stopGroup(current);
      }
      // After a stop, what is left of the group gets its SIGKILL before exec ends.
      await this.#stopping;
      current.watchdog.release();
      this.#finished = true;
      return result;
    }
  }

  /** A signal aborted at the first SIGTERM, the request of Mesos to end the task. */
  get stopRequested(): AbortSignal {
    return this.#stopRequested.signal;
  }

  /** Tells whether the current process of the command is still running. */
  get running(): boolean {
    const child = this.#current?.child;
    return (
      !this.#finished && child !== undefined && child.exitCode === null && child.signalCode === null
    );
  }

  /** Sends `signal` to the running command's main process. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#current?.child.kill(signal);
  }

  /**
   * Stops the command and starts it again with `env`, and resolves true once it runs
   * again. Resolves false when the command has already ended on its own, or was asked to
   * stop, because the task is then over.
   */
  async restart(env: Record<string, string>): Promise<boolean> {
    while (this.#restarting !== undefined) await this.#restarting;
    if (!this.running || this.#stopSignal !== undefined) return false;

    this.#restarting = this.#stopAndStart(env);
    try {
      return await this.#restarting;
    } finally {
      this.#restarting = undefined;
    }
  }

  // SIGTERM is how Mesos asks a task to end, so it stops the command for good, even in
  // the middle of a restart.
  #onSignal(signal: NodeJS.Signals): void {
    if (signal === 'SIGTERM') {
      // Output that waits for a reader that takes nothing must not keep the task, and its
      // files, past the stop.
      this.#stopRequested.abort();
      this.#current?.hurryOutput();
      // A second SIGTERM does not wait out the grace period: what is left gets SIGKILL.
      if (this.#stopSignal !== undefined && this.#current !== undefined) {
        if (anyAlive(this.#current)) {
          this.#options.log?.('received SIGTERM again; sending SIGKILL now');
          killAll(this.#current);
        }
        return;
      }
      this.#stopSignal ??= signal;
      this.#stopping ??= this.#stopCurrent();
      return;
    }

    const current = this.#current;
    if (current === undefined) return;
    if (GROUP_SIGNALS.has(signal)) {
      signalGroup(current, signal);
    } else if (this.running) {
      current.child.kill(signal);
    }
  }

  async #stopAndStart(env: Record<string, string>): Promise<boolean> {
    const current = this.#current as StartedChild;
    await this.#stopGroup(current);
    await current.ended;
    if (this.#stopSignal !== undefined) {
      this.#options.log?.(`received ${this.#stopSignal} during the restart; not starting again`);
      return false;
    }
    await this.start(env);
    return this.#current !== current;
  }

  async #stopCurrent(): Promise<void> {
    const current = this.#current;
    if (current !== undefined) await this.#stopGroup(current);
  }

  async #stopGroup(command: StartedChild): Promise<void> {
    try {
      await stopProcessGroup(command, this.#options.graceMs);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      this.#options.log?.(`failed to stop the command's processes: ${code}`);
    }
    command.watchdog.release();
  }
}
