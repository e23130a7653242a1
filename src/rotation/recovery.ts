import type { Logger } from 'pino';

import type { Cluster, ClusterLock } from '../store/cluster.ts';
import type { Secrets } from '../store/secrets.ts';
import type { RotationRecord, Store } from '../store/store.ts';
import { revokeHookTokensOf } from './hook-token.ts';
import {
  IDLE_STATE,
  parseRotationPolicy,
  parseRotationState,
  type RotationState,
  scheduleOf,
  withEvent,
} from './policy.ts';
import { type Rotator, rotationLockName } from './rotator.ts';
import { nextRun } from './schedule.ts';

/** Outcome of `recoverRotations` for each interrupted rotation. */
export interface Recovery {
  path: string;
  action: 'resumed' | 'rolled-back' | 'completed';
}

/** The objects that recovering rotations works with. */
export interface RecoveryContext {
  store: Store;
  secrets: Secrets;
  rotator: Rotator;
  cluster: Cluster;
  logger: Logger;
}

/**
 * Cleans up after rotations that a crash interrupted: those not idle in the store whose
 * lock no server process holds, since the process that held it has ended. Each gets its
 * hook tokens revoked. One interrupted in `create` is rolled back (its pending label is
 * cleared, and current was never touched), and one whose pending version was already
 * promoted is marked done. The others resume in the background at their recorded step,
 * with the same pending version. `records` is a list the caller already read, else the
 * store's list is read.
 */
export async function recoverRotations(
  context: RecoveryContext,
  records?: readonly RotationRecord[],
): Promise<Recovery[]> {
  const recoveries: Recovery[] = [];
  for (const listed of records ?? (await context.store.listRotations())) {
    if (parseRotationState(listed.state).step === 'idle') continue;
    if (context.rotator.isRunning(listed.path)) continue;
    const lock = await context.cluster.tryLock(rotationLockName(listed.path));
    if (lock === undefined) continue;

    const recovery = await recoverUnderLock(context, listed.path, lock).catch(async (error) => {
      await lock.release();
      throw error;
    });
    if (recovery !== undefined) recoveries.push(recovery);
  }
  return recoveries;
}

// The record is read again under the lock: the rotation may have ended between the list
// and the lock.
async function recoverUnderLock(
  context: RecoveryContext,
  path: string,
  lock: ClusterLock,
): Promise<Recovery | undefined> {
  const { store, logger } = context;
  const record = await store.readRotation(path);
  const state = record === undefined ? undefined : parseRotationState(record.state);
  if (record === undefined || state === undefined || state.step === 'idle') {
    await lock.release();
    return undefined;
  }

  const revoked = await revokeHookTokensOf(store, path);
  if (revoked > 0) logger.info({ path, revoked }, 'revoked hook tokens of an interrupted rotation');
  const pending = state.pendingVersion;
  if (state.step !== 'create' && pending !== null) {
    const metadata = await context.secrets.metadata(path);
    if (metadata.stages.current !== pending) {
      const start = { step: state.step, pendingVersion: pending };
      context.rotator.resume(path, start, lock).catch(() => {
        // The rotation records its own failure.
      });
      logger.info({ path, step: state.step }, 'resuming an interrupted rotation');
      return { path, action: 'resumed' };
    }
  }

  try {
    const action = await endInterrupted(context, record, state);
    logger.info({ path, step: state.step, action }, 'recovered a rotation');
    return { path, action };
  } finally {
    await lock.release();
  }
}

async function endInterrupted(
  context: RecoveryContext,
  record: RotationRecord,
  state: RotationState,
): Promise<'rolled-back' | 'completed'> {
  const pending = state.pendingVersion;
  const step = state.step === 'idle' ? null : state.step;
  const rolledBack = step === 'create' || pending === null;
  if (rolledBack) await context.secrets.clearPending(record.path);
  const event = {
    time: new Date().toISOString(),
    outcome: rolledBack ? ('interrupted' as const) : ('succeeded' as const),
    step: rolledBack ? step : null,
    version: pending,
    message: rolledBack
      ? `the server stopped during step ${state.step}; current was not changed`
      : `version ${pending} is current`,
  };
  const idle = { ...IDLE_STATE, events: withEvent(state, event) };
  // As after a failure, the retry waits for the next scheduled time.
  const schedule = scheduleOf(parseRotationPolicy(JSON.parse(record.policy)));
  const nextRunTime = nextRun(schedule, new Date())?.toISOString() ?? null;
  await context.store.saveRotation({ ...record, state: JSON.stringify(idle), nextRunTime });
  return rolledBack ? 'rolled-back' : 'completed';
}
