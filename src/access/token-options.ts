import { TesseraError } from '../errors.ts';
import type { TokenRecord } from '../store/store.ts';
import { formatDuration } from './duration.ts';
import { checkPolicyName, ROOT_POLICY } from './policy.ts';
import type { Caller, CreateTokenOptions } from './tokens.ts';

// The rules a new token's options follow, apart from those that need the store.

/** Meta keys that Tessera sets itself: the creator's accessor and the Mesos task id. */
export const RESERVED_META_KEYS = ['created_by', 'task_id'] as const;

/**
 * Checks the policies, durations, use count and meta of a create request. Throws
 * INVALID_ARGUMENT.
 */
export function checkOptions(options: CreateTokenOptions): void {
  if (options.policies.length === 0) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'a token needs at least one policy; name one, as in --policy web',
    );
  }
  for (const [index, name] of options.policies.entries()) {
    checkPolicyName(name, `policies[${index}]`);
  }
  for (const [field, value] of Object.entries({
    ttlSeconds: options.ttlSeconds,
    maxTtlSeconds: options.maxTtlSeconds,
    numUses: options.numUses,
  })) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new TesseraError('INVALID_ARGUMENT', `${field} must be a whole number, 0 or more`);
    }
  }
  const reserved = RESERVED_META_KEYS.filter((key) => options.creator && options.meta?.[key]);
  if (reserved.length > 0) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `meta key '${reserved[0]}' is set by Tessera itself; remove it from the request`,
    );
  }
}

/**
 * Checks that the policies a caller hands on (to a child token, or to the tokens of a login
 * role) are among the caller's own, unless the caller has the root policy. `what` names
 * the receiver, as in "a child token". Throws PERMISSION_DENIED.
 */
export function checkSubset(
  creator: Caller,
  policies: string[],
  what = { receiver: "a child token's", action: 'create the token' },
): void {
  if (creator.policies.includes(ROOT_POLICY)) return;
  const extra = policies.filter((name) => !creator.policies.includes(name));
  if (extra.length > 0) {
    throw new TesseraError(
      'PERMISSION_DENIED',
      `permission denied: ${what.receiver} policies must be a subset of the caller's, and ` +
        `'${extra[0]}' is not among them; ask a holder of that policy to ${what.action}`,
      { policy: extra[0] },
    );
  }
}

/**
 * Returns the TTL and max TTL a new token gets. A TTL over the max TTL is capped, and a
 * child's max TTL, and so its TTL, ends at its parent's expiry. Each cap of a TTL or max
 * TTL that the request gave adds a warning to `warnings`.
 */
export function lifetimeOf(
  options: CreateTokenOptions,
  parent: TokenRecord | undefined,
  warnings: string[],
): { ttlSeconds: number; maxTtlSeconds: number } {
  let ttl = options.ttlSeconds ?? 0;
  let max = options.maxTtlSeconds ?? 0;
  if (max && ttl > max) {
    warnings.push(ttlCappedWarning(ttl, max));
    ttl = max;
  }

  // A child never outlives its parent: its max TTL ends at the parent's expiry.
  if (parent?.expireTime) {
    const left = Math.max(1, Math.floor((Date.parse(parent.expireTime) - Date.now()) / 1000));
    if (!max || max > left) {
      if (max)
        warnings.push(
          `explicit max TTL capped at the parent token's remaining ${formatDuration(left)}`,
        );
      max = left;
    }
    if (ttl > max) warnings.push(ttlCappedWarning(ttl, max));
    if (!ttl || ttl > max) ttl = max;
  }
  return { ttlSeconds: ttl, maxTtlSeconds: max };
}

/** Returns Vault's warning for a TTL capped at the max TTL, both in seconds. */
export function ttlCappedWarning(ttlSeconds: number, maxTtlSeconds: number): string {
  return (
    `TTL of "${formatDuration(ttlSeconds)}" exceeded the effective max_ttl of ` +
    `"${formatDuration(maxTtlSeconds)}"; TTL value is capped accordingly`
  );
}

/**
 * Returns the expiry time of a token created at `now`, or null when it never expires. A
 * child's TTL is whole seconds rounded down from its parent's remaining time, which can
 * still end a few milliseconds after the parent, so `notAfter` (the parent's expiry) caps it.
 */
export function expiryOf(
  now: number,
  ttlSeconds: number,
  maxTtlSeconds: number,
  notAfter: string | null = null,
): string | null {
  const seconds = ttlSeconds || maxTtlSeconds;
  if (!seconds) return null;
  const expiry = now + seconds * 1000;
  const limit = notAfter ? Date.parse(notAfter) : Number.POSITIVE_INFINITY;
  return new Date(Math.min(expiry, limit)).toISOString();
}

/** Returns a new token's meta, with `created_by` and `task_id` set by Tessera. */
export function metaOf(options: CreateTokenOptions): Record<string, string> {
  const meta = { ...options.meta };
  if (options.creator) meta.created_by = options.creator.accessor;
  const taskId = options.taskId ?? options.creator?.meta.task_id;
  if (taskId) meta.task_id = taskId;
  return meta;
}
