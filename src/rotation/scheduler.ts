import type { Logger } from 'pino';
import type { Secrets } from '../store/secrets.ts';
import type { Store } from '../store/store.ts';
import { revokeAllHookTokens } from './hook-token.ts';
import {
  IDLE_STATE,
  parseRotationPolicy,
  parseRotationState,
  scheduleOf,
  withEvent,
} from './policy.ts';
import type { Rotator } from './rotator.ts';
import { nextRun } from './schedule.ts';

/** How often the scheduler looks for due rotations, by default. */
export const SCHEDULER_TICK_MS = 10_000;

/**
 * Runs due rotations from inside the server. Schedules have minute precision, so a tick of
 * a few seconds is enough.
 * NOTE: with several replicas on PostgreSQL, only the replica that holds an advisory lock
 * (pg_try_advisory_lock) may tick and recover; the SQLite store has one server process, so
 * nothing takes that lock yet.
 */
export class RotationScheduler {
  readonly #store: Store;
  readonly #rotator: Rotator;
  readonly #logger: Logger;
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(options: { store: Store; rotator: Rotator; logger: Logger; tickMs?: number }) {
    this.#store = options.store;
    this.#rotator = options.rotator;
    this.#logger = options.logger;
    this.#tickMs = options.tickMs ?? SCHEDULER_TICK_MS;
  }

  /** Starts ticking; the first tick runs at once. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref();
    this.#tick();
  }

  /** Stops ticking and waits for running rotations to end. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#rotator.idle();
  }

  #tick(): void {
    if (this.#ticking !== undefined) return;
    this.#ticking = this.#runDue()
      .catch((error: unknown) => {
        this.#logger.error({ error: (error as Error).name }, 'rotation scheduler tick failed');
      })
      .finally(() => {
        this.#ticking = undefined;
      });
  }

  async #runDue(): Promise<void> {
    const now = new Date().toISOString();
    for (const record of await this.#store.listRotations()) {
      const due = record.nextRunTime !== null && record.nextRunTime <= now;
      if (!due || this.#rotator.isRunning(record.path)) continue;
      if (parseRotationState(record.state).step !== 'idle') continue;
      // Rotations of different paths run side by side; each records its own outcome.
      this.#rotator.rotate(record.path).catch((error: unknown) => {
        this.#logger.error({ path: record.path, error: (error as Error).name }, 'rotation failed');
      });
    }
  }
}

/** Outcome of `recoverRotations` for each interrupted rotation. */
export interface Recovery {
  path: string;
  action: 'resumed' | 'rolled-back' | 'completed';
}

/**
 * Cleans up after a crash, before the scheduler starts: revokes every hook token left
 * behind, rolls back rotations interrupted in `create` (their pending label is cleared,
 * and current was never touched), marks as done those whose pending version was already
 * promoted, and resumes the others at their recorded step with the same pending version.
 * Resumed rotations run in the background.
 */
export async function recoverRotations(
  store: Store,
  secrets: Secrets,
  rotator: Rotator,
  logger: Logger,
): Promise<Recovery[]> {
  const revoked = await revokeAllHookTokens(store);
  if (revoked > 0) logger.info({ revoked }, 'revoked hook tokens left by an interrupted rotation');

  const recoveries: Recovery[] = [];
  for (const record of await store.listRotations()) {
    const state = parseRotationState(record.state);
    if (state.step === 'idle') continue;
    const metadata = await secrets.metadata(record.path);
    const pending = state.pendingVersion;
    let action: Recovery['action'];
    if (state.step === 'create' || pending === null) {
      await secrets.clearPending(record.path);
      action = 'rolled-back';
    } else if (metadata.stages.current === pending) {
      action = 'completed';
    } else {
      rotator.resume(record.path, { step: state.step, pendingVersion: pending }).catch(() => {
        // The rotation records its own failure.
      });
      recoveries.push({ path: record.path, action: 'resumed' });
      logger.info({ path: record.path, step: state.step }, 'resuming an interrupted rotation');
      continue;
    }
    const event = {
      time: new Date().toISOString(),
      outcome: action === 'completed' ? ('succeeded' as const) : ('interrupted' as const),
      step: action === 'completed' ? null : state.step,
      version: pending,
      message:
        action === 'completed'
          ? `version ${pending} is current`
          : `the server stopped during step ${state.step}; current was not changed`,
    };
    const idle = { ...IDLE_STATE, events: withEvent(state, event) };
    // As after a failure, the retry waits for the next scheduled time.
    const schedule = scheduleOf(parseRotationPolicy(JSON.parse(record.policy)));
    const nextRunTime = nextRun(schedule, new Date())?.toISOString() ?? null;
    await store.saveRotation({ ...record, state: JSON.stringify(idle), nextRunTime });
    recoveries.push({ path: record.path, action });
    logger.info({ path: record.path, step: state.step, action }, 'recovered a rotation');
  }
  return recoveries;
}
