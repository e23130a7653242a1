import { TesseraError } from '../errors.ts';
import { type Cluster, waitForLock } from '../store/cluster.ts';
import type { Store, TokenRecord } from '../store/store.ts';
import { decide, type Policy, parsePolicy, ROOT_POLICY, rootPolicy } from './policy.ts';

// The rule that keeps an operator from locking everyone out, since Tessera has no other
// way to mint an administrator token after set-up.
//
// An administrator token is a stored token that never expires (no expiry time), has no use
// limit, and whose policies allow `admin` on both probe paths below. The set-up root token
// is one. The probes are read literally, so only a rule that covers every accessor or
// policy name counts (`sys/tokens/*`, `sys/tokens/+`, `sys/*` or `*`). A rule naming one
// accessor does not.
//
// A revocation or policy change that would remove the last administrator token is
// rejected with LAST_ADMIN_TOKEN. Revoking a token removes its descendants too, so they
// count as removed. When there is no administrator token to begin with, nothing is
// rejected.

/** The probe paths an administrator token must hold `admin` on. */
export const ADMIN_PROBES = ['sys/tokens/*', 'sys/policies/*'] as const;

/** A change whose effect on administrator tokens is checked before it is made. */
export interface AdminChange {
  /** A token about to be revoked together with its descendants. */
  revoking?: string;
  /** A policy about to be written (its new rules) or deleted (null). */
  policy?: { name: string; rules: Policy | null };
}

const locks = new WeakMap<Store, Promise<unknown>>();
const clusters = new WeakMap<Store, Cluster>();

/** The cluster lock that a server process holds while it checks and makes such a change. */
export const ADMIN_LOCK = 'last-admin';

/** How long a change waits for another server process to finish its own. */
export const ADMIN_LOCK_WAIT_MS = 10_000;

/**
 * Makes `withAdminLock` for `store` also take the cluster's lock, so that server
 * processes sharing the store check such changes one at a time too.
 */
export function shareAdminLock(store: Store, cluster: Cluster): void {
  clusters.set(store, cluster);
}

/**
 * Runs `work` after every earlier call for the same store has finished, and under the
 * cluster's lock when one is shared, so that two revocations cannot each count the
 * other's token as the remaining administrator.
 */
export function withAdminLock<T>(store: Store, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(store) ?? Promise.resolve();
  const locked = async () => {
    const cluster = clusters.get(store);
    if (cluster === undefined) return work();
    const lock = await waitForLock(cluster, ADMIN_LOCK, ADMIN_LOCK_WAIT_MS, () => {
      return new TesseraError(
        'UNREACHABLE',
        'timed out waiting for another server to finish a token or policy change; retry',
      );
    });
    try {
      return await work();
    } finally {
      await lock.release();
    }
  };
  const result = previous.then(locked, locked);
  locks.set(
    store,
    result.catch(() => undefined),
  );
  return result;
}

/**
 * Throws LAST_ADMIN_TOKEN when `change` would leave no administrator token while at least
 * one exists now. Call it inside `withAdminLock`.
 */
export async function checkNotLastAdmin(store: Store, change: AdminChange): Promise<void> {
  const records = await allRecords(store);
  const removed = change.revoking ? subtreeOf(records, change.revoking) : new Set<string>();
  const current = policyLoader(store);
  const changed = policyLoader(store, change.policy);

  const before = await countAdmins(records, current, new Set());
  if (before === 0) {
    return;
  }
  const after = await countAdmins(records, changed, removed);
  if (after > 0) {
    return;
  }
  throw new TesseraError(
    'LAST_ADMIN_TOKEN',
    `${describe(change)} would leave no token that can manage tokens and policies; first ` +
      `create a token whose policies grant admin on ${ADMIN_PROBES.join(' and ')}, with no ` +
      'TTL, no use limit and no parent (no_parent, so that revoking its creator keeps it), ' +
      'then retry',
  );
}

/** Tests whether policies allow `admin` on every probe path. */
export function isAdminPolicySet(policies: Policy[]): boolean {
  return ADMIN_PROBES.every((probe) => decide(policies, 'admin', probe).allowed);
}

type Loader = (name: string) => Promise<Policy | null>;

async function countAdmins(
  records: TokenRecord[],
  load: Loader,
  removed: Set<string>,
): Promise<number> {
  let count = 0;
  for (const record of records) {
    if (removed.has(record.accessor)) continue;
    if (record.expireTime !== null || record.usesRemaining !== null) continue;
    const policies = await Promise.all(record.policies.map(load));
    if (isAdminPolicySet(policies.filter((policy) => policy !== null))) count += 1;
  }
  return count;
}

function policyLoader(store: Store, override?: AdminChange['policy']): Loader {
  const cache = new Map<string, Promise<Policy | null>>();
  const load = async (name: string): Promise<Policy | null> => {
    if (name === ROOT_POLICY) return rootPolicy;
    if (override && override.name === name) return override.rules;
    const text = await store.readPolicy(name);
    return text === undefined ? null : parsePolicy(name, text);
  };
  return (name) => {
    let loaded = cache.get(name);
    if (!loaded) {
      loaded = load(name);
      cache.set(name, loaded);
    }
    return loaded;
  };
}

async function allRecords(store: Store): Promise<TokenRecord[]> {
  const accessors = await store.listTokenAccessors();
  const records = await Promise.all(accessors.map((a) => store.findTokenByAccessor(a)));
  return records.filter((record) => record !== undefined);
}

function subtreeOf(records: TokenRecord[], accessor: string): Set<string> {
  const subtree = new Set([accessor]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const record of records) {
      const parent = record.parentAccessor;
      if (parent !== null && subtree.has(parent) && !subtree.has(record.accessor)) {
        subtree.add(record.accessor);
        grew = true;
      }
    }
  }
  return subtree;
}

function describe(change: AdminChange): string {
  if (change.revoking) return `revoking token ${change.revoking}`;
  const policy = change.policy;
  return policy?.rules ? `writing policy '${policy.name}'` : `deleting policy '${policy?.name}'`;
}
