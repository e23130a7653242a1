import type { ClusterLock } from '../store/cluster.ts';
import { parseRotationState } from './policy.ts';
import { type RecoveryContext, recoverRotations } from './recovery.ts';

/** How often the scheduler looks for due rotations, by default. */
export const SCHEDULER_TICK_MS = 10_000;

/** The name of the cluster lock that the server process running the scheduler holds. */
export const SCHEDULER_LOCK = 'rotation-scheduler';

/**
 * Runs due rotations from inside the server, and recovers rotations that a crash
 * interrupted. Of the server processes on one store, only the one that holds the
 * scheduler's cluster lock does so; another takes over when that one ends. Schedules have
 * minute precision, so a tick of a few seconds is enough.
 */
export class RotationScheduler {
  readonly #context: RecoveryContext;
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #lead: ClusterLock | undefined;

  constructor(context: RecoveryContext, tickMs: number = SCHEDULER_TICK_MS) {
    this.#context = context;
    this.#tickMs = tickMs;
  }

  /** Starts ticking; resolves when the first tick, which runs at once, has ended. */
  async start(): Promise<void> {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref();
    await this.#tick();
  }

  /** Stops ticking, waits for running rotations to end, and gives up the lead. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#context.rotator.idle();
    await this.#lead?.release();
    this.#lead = undefined;
  }

  #tick(): Promise<void> {
    if (this.#ticking !== undefined) return this.#ticking;
    this.#ticking = this.#runDue()
      .catch((error: unknown) => {
        const { logger } = this.#context;
        logger.error({ error: (error as Error).name }, 'rotation scheduler tick failed');
      })
      .finally(() => {
        this.#ticking = undefined;
      });
    return this.#ticking;
  }

  async #leads(): Promise<boolean> {
    if (this.#lead?.held) return true;
    this.#lead = await this.#context.cluster.tryLock(SCHEDULER_LOCK);
    if (this.#lead !== undefined) {
      this.#context.logger.info('this server now runs scheduled rotations');
    }
    return this.#lead !== undefined;
  }

  async #runDue(): Promise<void> {
    if (!(await this.#leads())) return;
    const records = await this.#context.store.listRotations();
    // A rotation that cannot be recovered is logged and tried again at the next tick. The
    // due check below reads the list from before recovery, so a recovered rotation that is
    // due runs at the next tick.
    await recoverRotations(this.#context, records).catch((error: unknown) => {
      this.#context.logger.error({ error: (error as Error).name }, 'rotation recovery failed');
    });

    const now = new Date().toISOString();
    for (const record of records) {
      const due = record.nextRunTime !== null && record.nextRunTime <= now;
      if (!due || this.#context.rotator.isRunning(record.path)) continue;
      if (parseRotationState(record.state).step !== 'idle') continue;
      // Rotations of different paths run side by side; each records its own outcome.
      this.#context.rotator.rotate(record.path).catch((error: unknown) => {
        const { logger } = this.#context;
        logger.error({ path: record.path, error: (error as Error).name }, 'rotation failed');
      });
    }
  }
}
