import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { errorCode } from '../errors.ts';
import type { ChangePolicy } from './change-policy.ts';
import {
  type DeliveryPlan,
  describeUse,
  type PlannedUse,
  type ResolveSecrets,
  resolvePlan,
} from './plan.ts';

/** What the follower acts on: the command, its files and its masker. */
export interface FollowActions {
  /** Replaces the file of the `position`-th file secret with `bytes`. */
  rewriteFile(position: number, use: PlannedUse & { kind: 'file' }, bytes: Buffer): Promise<void>;
  /**
   * Restarts the command with an environment built from `values`. Resolves false when
   * the command was not started again, because it ended or was asked to stop.
   */
  restart(values: readonly Buffer[]): Promise<boolean>;
  signal(signal: NodeJS.Signals): void;
  /** Receives every new set of values, so that the masker masks them too. */
  updateValues(values: readonly Buffer[]): void;
  /**
   * Receives, after each check that found a change, the value that each use runs with,
   * by position in `plan.uses`. A use whose change was not applied keeps its old value.
   */
  valuesInUse(values: readonly Buffer[]): void;
}

/** Options of `Follower`. */
export interface FollowerOptions {
  plan: DeliveryPlan;
  /** The values the command started with, by position in `plan.secrets`. */
  values: readonly Buffer[];
  /** The policy of each use, by position in `plan.uses`. */
  policies: readonly ChangePolicy[];
  resolve: ResolveSecrets;
  /** Upper bound of the random delay before a restart, in milliseconds. */
  splayMs: number;
  actions: FollowActions;
  /** Receives one line per change or failure; names variables and paths, never values. */
  log: (line: string) => void;
}

/**
 * Applies new secret values to a running command by each use's policy. `check` resolves
 * the task's secrets again and acts only on those whose bytes changed, so a missed or
 * repeated event does no harm. When the server cannot be reached the command keeps the
 * values it has.
 */
export class Follower {
  readonly #options: FollowerOptions;
  readonly #filePositions: Map<PlannedUse, number>;
  /** The values of the last resolution, by position in `plan.secrets`. */
  #values: Buffer[];
  /** The value each use runs with, by position in `plan.uses`. */
  readonly #inUse: Buffer[];
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: FollowerOptions) {
    this.#options = options;
    this.#values = [...options.values];
    this.#inUse = options.plan.uses.map((use) => options.values[use.index] as Buffer);
    this.#filePositions = new Map();
    for (const use of options.plan.uses) {
      if (use.kind === 'file') this.#filePositions.set(use, this.#filePositions.size);
    }
  }

  /** Looks for changed values and applies them; calls that overlap are merged into one more run. */
  check(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      await this.#checkOnce();
    } while (this.#again);
  }

  async #checkOnce(): Promise<void> {
    let fresh: Buffer[];
    try {
      fresh = await resolvePlan(this.#options.plan, this.#options.resolve);
    } catch (error) {
      const reason = errorCode(error);
      this.#options.log(
        `could not check the followed secrets (${reason}); keeping the current values`,
      );
      return;
    }

    const changed = new Set<number>();
    for (const [index, value] of fresh.entries()) {
      if (!value.equals(this.#values[index] as Buffer)) changed.add(index);
    }
    if (changed.size === 0) return;

    this.#values = fresh;
    this.#options.actions.updateValues(fresh);
    try {
      await this.#apply(changed, fresh);
    } finally {
      this.#options.actions.valuesInUse([...this.#inUse]);
    }
  }

  async #apply(changed: ReadonlySet<number>, values: readonly Buffer[]): Promise<void> {
    const { plan, policies, actions, log } = this.#options;
    let restart = false;
    const signals = new Set<NodeJS.Signals>();
    for (const [position, use] of plan.uses.entries()) {
      if (!changed.has(use.index)) continue;
      const policy = policies[position] as ChangePolicy;
      log(`${describeUse(use)} changed; applying ${describePolicy(policy)}`);
      if (policy.kind === 'none') continue;
      if (use.kind === 'file') {
        const bytes = values[use.index] as Buffer;
        await actions.rewriteFile(this.#filePositions.get(use) as number, use, bytes);
        this.#inUse[position] = bytes;
      }
      if (policy.kind === 'restart') restart = true;
      if (policy.kind === 'signal') signals.add(policy.signal);
    }

    if (restart) {
      await this.#restart(values);
      return;
    }
    for (const signal of signals) actions.signal(signal);
  }

  // A restart builds the whole environment from `values`, so every variable then runs
  // with its latest value, those whose policy is none included.
  async #restart(values: readonly Buffer[]): Promise<void> {
    const delay = Math.floor(Math.random() * this.#options.splayMs);
    if (delay > 0) this.#options.log(`restarting the command in ${delay} ms (splay)`);
    await sleep(delay);
    if (!(await this.#options.actions.restart(values))) return;

    for (const [position, use] of this.#options.plan.uses.entries()) {
      if (use.kind === 'env') this.#inUse[position] = values[use.index] as Buffer;
    }
  }
}

/**
 * Replaces `target` with `bytes` atomically: the new file is written beside it and
 * renamed over it, so that a reader sees the old or the new content, never a mix.
 */
export async function rewriteAtomically(
  target: string,
  bytes: Buffer,
  mode: number,
): Promise<void> {
  const temporary = join(dirname(target), `.next-${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(temporary, bytes, { mode: 0o600, flag: 'wx' });
    await chmod(temporary, mode);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function describePolicy(policy: ChangePolicy): string {
  return policy.kind === 'signal' ? `signal:${policy.signal}` : policy.kind;
}
