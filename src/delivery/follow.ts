import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { isTesseraError } from '../errors.ts';
import type { ChangePolicy } from './change-policy.ts';
import { type DeliveryPlan, type PlannedUse, type ResolveSecrets, resolvePlan } from './plan.ts';

/** What the follower acts on: the command, its files and its masker. */
export interface FollowActions {
  /** Replaces the file of the `position`-th file secret with `bytes`. */
  rewriteFile(position: number, use: PlannedUse & { kind: 'file' }, bytes: Buffer): Promise<void>;
  /** Restarts the command with an environment built from `values`. */
  restart(values: readonly Buffer[]): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** Receives every new set of values, so that the masker masks them too. */
  updateValues(values: readonly Buffer[]): void;
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
  #values: Buffer[];
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: FollowerOptions) {
    this.#options = options;
    this.#values = [...options.values];
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
      const reason = isTesseraError(error) ? error.code : 'unexpected error';
      this.#options.log(
        `could not resolve the changed secrets (${reason}); keeping the current values`,
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
    await this.#apply(changed, fresh);
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
        await actions.rewriteFile(
          this.#filePositions.get(use) as number,
          use,
          values[use.index] as Buffer,
        );
      }
      if (policy.kind === 'restart') restart = true;
      if (policy.kind === 'signal') signals.add(policy.signal);
    }

    if (restart) {
      const delay = Math.floor(Math.random() * this.#options.splayMs);
      if (delay > 0) log(`restarting the command in ${delay} ms (splay)`);
      await sleep(delay);
      await actions.restart(values);
      return;
    }
    for (const signal of signals) actions.signal(signal);
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

function describeUse(use: PlannedUse): string {
  return use.kind === 'env' ? `environment variable ${use.name}` : `file ${use.containerPath}`;
}

function describePolicy(policy: ChangePolicy): string {
  return policy.kind === 'signal' ? `signal:${policy.signal}` : policy.kind;
}
