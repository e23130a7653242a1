import type { Logger } from 'pino';

import { TaskLogins } from '../access/task-login.ts';
import { backoffDelay } from '../client/backoff.ts';
import { followMaster, type MasterFollower } from '../mesos/operator-stream.ts';
import { type EndedTask, TaskIndex } from '../mesos/task-index.ts';
import type { Store } from '../store/store.ts';

/** Settings of following a Mesos master, validated by the CLI. */
export interface MesosFollowConfig {
  /** The masters to try in turn; a standby redirects to the leader. */
  masters: URL[];
  /** The value of the Authorization header, for masters with HTTP authentication. */
  authorization?: string;
  /** How long after its start a task may still log in, in seconds. */
  loginWindowSeconds: number;
  /** Time allowed for the master to respond to the SUBSCRIBE call, in milliseconds. */
  connectTimeoutMs: number;
}

/** The defaults of following a master, with their units. */
export const MESOS_FOLLOW_DEFAULTS = {
  loginWindowSeconds: 600,
  connectTimeoutMs: 10_000,
} as const;

// A login waits this long for a task that the master has not reported yet.
const LOGIN_WAIT_MS = 3000;

// The login of each task is kept this long, so that it cannot log in again, and then
// removed; Mesos does not reuse the task ids of a framework within such a time.
const LOGIN_RETENTION_MS = 30 * 86_400_000;
const TIDY_INTERVAL_MS = 3_600_000;

// The wait before each attempt to follow the master again, doubled up to the cap.
const RECONNECT = { initialMs: 500, maxMs: 30_000 };

/** A server's view of a Mesos master, and the task logins that rest on it. */
export interface MesosFollowing {
  index: TaskIndex;
  logins: TaskLogins;
  /** Calls `listener` with the tasks that the master reports ended. */
  onTasksEnded(listener: (ended: EndedTask[]) => void): void;
  stop(): Promise<void>;
}

/**
 * Follows the leading master's event stream into a task index, so that tasks can log in,
 * and revokes the token of each task that ends.
 */
export function followMesos(
  config: MesosFollowConfig,
  store: Store,
  logger: Logger,
): MesosFollowing {
  const index = new TaskIndex();
  const logins = new TaskLogins(store, index, {
    windowSeconds: config.loginWindowSeconds,
    waitMs: LOGIN_WAIT_MS,
  });
  const failed = (what: string) => (error: unknown) =>
    logger.error({ error: (error as Error).name }, `failed to ${what}`);
  const endListeners: ((ended: EndedTask[]) => void)[] = [];
  const revoked = (count: number) => {
    if (count > 0) logger.info({ count }, 'revoked the tokens of tasks that ended');
  };

  const follower: MasterFollower = followMaster({
    masters: config.masters,
    authorization: config.authorization,
    connectTimeoutMs: config.connectTimeoutMs,
    retryDelayMs: (failures) => backoffDelay(failures, RECONNECT),
    onEvent: (event) => {
      const recovering = index.recoveringAgents;
      const ended = index.apply(event, Date.now() / 1000);
      // The logins that waited for the agents of a new master are checked once they are back.
      if (recovering > 0 && index.recoveringAgents === 0) {
        logins.reconcile().then(revoked, failed('end the logins of tasks that ended'));
      }
      if (ended.length === 0) return;
      logins.endTasks(ended).then(revoked, failed('end task logins'));
      for (const listener of endListeners) listener(ended);
    },
    onSubscribed: (master) => {
      logger.info({ master: master.origin, ...index.size }, 'following the Mesos master');
      logins.reconcile().then(revoked, failed('end the logins of tasks that ended'));
    },
    onDisconnect: (reason, retryInMs) => {
      index.unsync();
      logger.warn({ reason, retryInMs }, 'lost the event stream of the Mesos master; retrying');
    },
  });

  const tidy = () => {
    const before = new Date(Date.now() - LOGIN_RETENTION_MS).toISOString();
    store.deleteTaskLoginsBefore(before).catch(failed('remove old task logins'));
  };
  tidy();
  const timer = setInterval(tidy, TIDY_INTERVAL_MS);
  timer.unref();
  return {
    index,
    logins,
    onTasksEnded: (listener) => {
      endListeners.push(listener);
    },
    stop: async () => {
      clearInterval(timer);
      await follower.stop();
    },
  };
}
