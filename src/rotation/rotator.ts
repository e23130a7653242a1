import type { Logger } from 'pino';
import { TesseraError } from '../errors.ts';
import { type Cluster, type ClusterLock, LocalCluster } from '../store/cluster.ts';
import { parseSecretPath } from '../store/path.ts';
import type { Secrets } from '../store/secrets.ts';
import type { Store } from '../store/store.ts';
import { generate } from './generators.ts';
import { runHook } from './hook.ts';
import { createHookToken, type HookToken, revokeHookToken } from './hook-token.ts';
import {
  IDLE_STATE,
  parseRotationPolicy,
  parseRotationState,
  ROTATION_STEPS,
  type RotationEvent,
  type RotationPolicy,
  type RotationState,
  type RotationStep,
  scheduleOf,
  withEvent,
} from './policy.ts';
import { nextRun } from './schedule.ts';

/** The author recorded on versions that a rotation writes. */
export const ROTATION_AUTHOR = 'rotation';

/** A secret's rotation as the API shows it. */
export interface RotationView {
  path: string;
  policy: RotationPolicy;
  state: RotationState;
  nextRunTime: string | null;
}

/** Starting point of a run: a new rotation, or one resumed at a step with its pending version. */
type Start = { step: RotationStep; pendingVersion: number | null };

/** Returns the name of the cluster lock that the server process rotating `path` holds. */
export function rotationLockName(path: string): string {
  return `rotation:${path}`;
}

/**
 * Runs rotations: creates a pending version, runs the hook's set, test and finish steps,
 * then promotes it. Each step is recorded in the store before it runs, so `recover` can
 * resume or roll back a rotation that a crash interrupted. One rotation per path runs at
 * a time: a second request for the same path joins the running one, and a request while
 * another server process on the same store rotates the path is rejected.
 */
export class Rotator {
  /** The server's address that hooks call back on; set once the server listens. */
  address = '';
  readonly #store: Store;
  readonly #secrets: Secrets;
  readonly #logger: Logger;
  readonly #cluster: Cluster;
  readonly #running = new Map<string, Promise<RotationEvent>>();

  constructor(
    store: Store,
    secrets: Secrets,
    logger: Logger,
    cluster: Cluster = new LocalCluster(),
  ) {
    this.#store = store;
    this.#secrets = secrets;
    this.#logger = logger;
    this.#cluster = cluster;
  }

  /** Sets a secret's policy and schedules its first run. Throws INVALID_ARGUMENT. */
  async setPolicy(rawPath: string, input: unknown): Promise<RotationView> {
    const path = parseSecretPath(rawPath);
    const policy = parseRotationPolicy(input);
    const existing = await this.#store.readRotation(path);
    const state = existing ? parseRotationState(existing.state) : IDLE_STATE;
    const nextRunTime = nextRun(scheduleOf(policy), new Date())?.toISOString() ?? null;
    await this.#save(path, policy, state, nextRunTime);
    return { path, policy, state, nextRunTime };
  }

  /** Reads a secret's rotation; undefined when it has no policy. */
  async view(rawPath: string): Promise<RotationView | undefined> {
    const path = parseSecretPath(rawPath);
    const record = await this.#store.readRotation(path);
    if (record === undefined) return undefined;
    return {
      path,
      policy: parseRotationPolicy(JSON.parse(record.policy)),
      state: parseRotationState(record.state),
      nextRunTime: record.nextRunTime,
    };
  }

  /** Removes a secret's policy; false when it had none. Throws while a rotation runs. */
  async deletePolicy(rawPath: string): Promise<boolean> {
    const path = parseSecretPath(rawPath);
    this.#checkIdle(path);
    return this.#store.deleteRotation(path);
  }

  /**
   * Rotates a secret now and returns the outcome; a failure is an outcome, not an error.
   * Throws NOT_FOUND when the secret has no rotation policy.
   */
  rotate(rawPath: string): Promise<RotationEvent> {
    const path = parseSecretPath(rawPath);
    return this.#single(path, { step: 'create', pendingVersion: null });
  }

  /**
   * Whether the token `accessor` may write the pending version of `path`: it is the hook
   * token of a rotation without a generator, in its create step. Any other writer needs
   * `rotate` on the path.
   */
  async mayWritePending(path: string, accessor: string): Promise<boolean> {
    const view = await this.view(path);
    if (view === undefined || view.policy.generator !== undefined) return false;
    return view.state.step === 'create' && view.state.tokenAccessor === accessor;
  }

  /** Whether a rotation of `path` is running in this process. */
  isRunning(path: string): boolean {
    return this.#running.has(path);
  }

  /** Waits for every running rotation to end. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  /**
   * Resumes an interrupted rotation at its recorded step. The caller has taken the path's
   * lock (see `rotationLockName`), and the run releases it when it ends.
   */
  resume(path: string, start: Start, lock: ClusterLock): Promise<RotationEvent> {
    return this.#single(path, start, lock);
  }

  #single(path: string, start: Start, lock?: ClusterLock): Promise<RotationEvent> {
    const running = this.#running.get(path);
    if (running) return running;
    const run = this.#locked(path, start, lock).finally(() => this.#running.delete(path));
    this.#running.set(path, run);
    return run;
  }

  async #locked(path: string, start: Start, given?: ClusterLock): Promise<RotationEvent> {
    const lock = given ?? (await this.#cluster.tryLock(rotationLockName(path)));
    if (lock === undefined) {
      throw new TesseraError(
        'ROTATION_RUNNING',
        `secret ${path} is rotating on another server; retry once that rotation has ended`,
        { path },
      );
    }
    try {
      return await this.#run(path, start, lock);
    } finally {
      await lock.release();
    }
  }

  async #run(path: string, start: Start, lock: ClusterLock): Promise<RotationEvent> {
    const view = await this.view(path);
    if (view === undefined) {
      throw new TesseraError(
        'NOT_FOUND',
        `secret ${path} has no rotation policy; set one with tessera rotation set ${path}`,
        { path },
      );
    }
    const { policy } = view;
    const started = new Date().toISOString();
    let state: RotationState = { ...view.state, startedTime: started, tokenAccessor: null };
    state.pendingVersion = start.pendingVersion;
    let token: HookToken | null = null;
    let step: RotationStep = start.step;
    try {
      for (step of ROTATION_STEPS.slice(ROTATION_STEPS.indexOf(start.step))) {
        checkHeld(lock, path);
        state = { ...state, step };
        await this.#saveState(path, state);
        const generates = step === 'create' && start.step === 'create';
        const hookWrites = generates && policy.generator === undefined;
        if (generates && !hookWrites) {
          state.pendingVersion = await this.#createPending(path, policy);
        }
        const newest = hookWrites ? (await this.#secrets.metadata(path)).currentVersion : 0;
        if (policy.hook === undefined) continue;
        if (token === null) {
          const ttlSeconds = policy.hook.timeout_seconds * 5 + 60;
          token = await createHookToken(this.#store, path, ttlSeconds);
          state = { ...state, tokenAccessor: token.accessor };
          await this.#saveState(path, state);
        }
        await this.#hookStep(path, policy, state, step, token.token);
        if (hookWrites) {
          state.pendingVersion = await this.#pendingWrittenByHook(path, newest);
        }
      }
      checkHeld(lock, path);
      await this.#secrets.promote(path, state.pendingVersion as number);
      return await this.#end(path, state, {
        outcome: 'succeeded',
        step: null,
        message: `version ${state.pendingVersion} is current`,
      });
    } catch (error) {
      if (error instanceof LockLost) return this.#abandon(path, state, step);
      const message = error instanceof TesseraError ? error.message : 'unexpected error';
      this.#logger.error({ path, step, code: codeOf(error) }, 'rotation failed');
      return await this.#end(path, state, { outcome: 'failed', step, message });
    }
  }

  // The lock went with the connection that held it, so the server that recovers
  // interrupted rotations may already run this one: nothing more is recorded here.
  #abandon(path: string, state: RotationState, step: RotationStep): RotationEvent {
    this.#logger.warn({ path, step }, 'lost the rotation lock; another server takes over');
    return {
      time: new Date().toISOString(),
      outcome: 'interrupted',
      step,
      version: state.pendingVersion,
      message: `this server lost the rotation's lock in step ${step}; another server continues it`,
    };
  }

  // The hook's create step must have written a version newer than any before it and
  // labelled it pending.
  async #pendingWrittenByHook(path: string, newestBefore: number): Promise<number> {
    const { stages } = await this.#secrets.metadata(path);
    if (stages.pending !== null && stages.pending > newestBefore) return stages.pending;
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `the hook's create step wrote no pending version of ${path}; without a generator, ` +
        `it must write one with POST /v1/tessera/pending/${path}`,
      { path },
    );
  }

  async #createPending(path: string, policy: RotationPolicy): Promise<number> {
    const fields = await generate(policy.generator as NonNullable<RotationPolicy['generator']>);
    const info = await this.#secrets.putPending(path, fields, ROTATION_AUTHOR);
    return info.version;
  }

  async #hookStep(
    path: string,
    policy: RotationPolicy,
    state: RotationState,
    step: RotationStep,
    token: string,
  ): Promise<void> {
    const hook = policy.hook as NonNullable<RotationPolicy['hook']>;
    const metadata = await this.#secrets.metadata(path);
    const input = {
      path,
      step,
      pending_version: state.pendingVersion,
      current_version: metadata.stages.current,
      address: this.address,
      token,
    };
    const result = await runHook(hook.command, input, hook.timeout_seconds * 1000);
    const lines = { stdoutLines: result.stdoutLines, stderrLines: result.stderrLines };
    this.#logger.info({ path, step, ok: result.ok, ...lines }, 'rotation hook step ended');
    if (!result.ok) throw new TesseraError('INTERNAL', result.reason, { path, step });
  }

  async #end(
    path: string,
    state: RotationState,
    result: Pick<RotationEvent, 'outcome' | 'step' | 'message'>,
  ): Promise<RotationEvent> {
    await revokeHookToken(this.#store, path, state.tokenAccessor);
    const event = { time: new Date().toISOString(), version: state.pendingVersion, ...result };
    const idle: RotationState = {
      ...IDLE_STATE,
      events: withEvent(state, event),
    };
    await this.#saveState(path, idle, true);
    this.#logger.info({ path, outcome: event.outcome, version: event.version }, 'rotation ended');
    return event;
  }

  /**
   * Records a running rotation's state under the policy stored now, not the one it
   * started with: a policy set meanwhile applies from the next run, and one deleted
   * meanwhile stays deleted. With `reschedule`, the next run follows that policy.
   */
  async #saveState(path: string, state: RotationState, reschedule = false): Promise<void> {
    const stored = await this.#store.readRotation(path);
    if (stored === undefined) return;
    const schedule = scheduleOf(parseRotationPolicy(JSON.parse(stored.policy)));
    const nextRunTime = reschedule
      ? (nextRun(schedule, new Date())?.toISOString() ?? null)
      : stored.nextRunTime;
    const updatedTime = new Date().toISOString();
    await this.#store.saveRotation({
      ...stored,
      state: JSON.stringify(state),
      nextRunTime,
      updatedTime,
    });
  }

  #save(path: string, policy: RotationPolicy, state: RotationState, nextRunTime: string | null) {
    return this.#store.saveRotation({
      path,
      policy: JSON.stringify(policy),
      state: JSON.stringify(state),
      nextRunTime,
      updatedTime: new Date().toISOString(),
    });
  }

  #checkIdle(path: string): void {
    if (!this.#running.has(path)) return;
    throw new TesseraError(
      'ROTATION_RUNNING',
      `secret ${path} is rotating now; retry once the rotation has ended`,
      { path },
    );
  }
}

// Thrown between steps when the rotation's lock is gone.
class LockLost extends Error {}

function checkHeld(lock: ClusterLock, path: string): void {
  if (!lock.held) throw new LockLost(`lost the rotation lock of ${path}`);
}

function codeOf(error: unknown): string {
  return error instanceof TesseraError ? error.code : 'unexpected';
}
