import { setTimeout as sleep } from 'node:timers/promises';

import type { SecretChange } from './secrets.ts';

/**
 * A message from one server process to the others that share its store. It names what
 * changed, never a value, token or key.
 */
export type ClusterMessage =
  | { kind: 'secret'; change: SecretChange }
  | { kind: 'policy'; name: string }
  // The versions a task reported running with, for `tessera tasks` on every server.
  | {
      kind: 'task-versions';
      taskId: string;
      secrets: { path: string; version: number }[];
      ttlSeconds?: number;
      /** The accessor of the token that made the report. */
      owner?: string;
    }
  // A task that reported its end.
  | { kind: 'task-ended'; taskId: string }
  // Given to this process's own listeners after messages may have been lost, for example
  // while the connection that receives them was down.
  | { kind: 'gap' };

/** Receives the messages of the other server processes. */
export type ClusterListener = (message: ClusterMessage) => void;

/** A lock held by this process. `held` turns false if the lock is lost. */
export interface ClusterLock {
  readonly held: boolean;
  release(): Promise<void>;
}

/**
 * The link between the server processes that share one store. They send each other what
 * changed, and take named locks so that one of them runs a piece of work at a time.
 */
export interface Cluster {
  /** Sends a message to the other processes. Implementations log a failure and do not throw. */
  publish(message: ClusterMessage): void;
  /** Calls `listener` for each message of the other processes; returns the function that stops it. */
  subscribe(listener: ClusterListener): () => void;
  /** Takes the lock `name`, or resolves undefined when another holder has it. */
  tryLock(name: string): Promise<ClusterLock | undefined>;
  close(): Promise<void>;
}

/**
 * The cluster of a single server process, as with the SQLite store: there is no other
 * process to tell, and locks are held in memory.
 */
export class LocalCluster implements Cluster {
  readonly #held = new Set<string>();

  publish(): void {}

  subscribe(): () => void {
    return () => undefined;
  }

  async tryLock(name: string): Promise<ClusterLock | undefined> {
    if (this.#held.has(name)) return undefined;
    this.#held.add(name);
    const held = this.#held;
    let released = false;
    return {
      get held() {
        return !released;
      },
      async release() {
        if (released) return;
        released = true;
        held.delete(name);
      },
    };
  }

  async close(): Promise<void> {}
}

const LOCK_POLL_MS = 200;

/**
 * Takes the lock `name`, trying again every 200 ms while another holder has it. Throws
 * the error `timedOut` returns when `timeoutMs` pass first.
 */
export async function waitForLock(
  cluster: Cluster,
  name: string,
  timeoutMs: number,
  timedOut: () => Error,
): Promise<ClusterLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = await cluster.tryLock(name);
    if (lock !== undefined) return lock;
    if (Date.now() >= deadline) throw timedOut();
    await sleep(LOCK_POLL_MS);
  }
}
