import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../errors.ts';
import type { Store, TokenRecord } from '../store/store.ts';
import { checkNotLastAdmin, withAdminLock } from './lockout.ts';
import { ROOT_POLICY } from './policy.ts';
import {
  checkOptions,
  checkSubset,
  expiryOf,
  lifetimeOf,
  metaOf,
  ttlCappedWarning,
} from './token-options.ts';

export { ROOT_POLICY } from './policy.ts';

/** The prefix of every token, so that secret scanners can recognise a leaked one. */
export const TOKEN_PREFIX = 'tsr_';

/** Accessors: letters, digits, '-' and '_', so that `sys/tokens/<accessor>` is a valid path. */
export const ACCESSOR = /^[A-Za-z0-9_-]{1,128}$/;

/** A token's metadata without its hash; safe to return to an administrator. */
export type TokenInfo = Omit<TokenRecord, 'hash'>;

/** The caller a request was authenticated as. Holds the accessor, never the token. */
export interface Caller {
  accessor: string;
  policies: string[];
  /** The creator's accessor (`created_by`) and the Mesos task id (`task_id`), when set. */
  meta: Record<string, string>;
  /** The token as this request left it: a use-limited token shows the uses still left. */
  info: TokenInfo;
}

/** Options of `createToken`: the new token's policies, lifetime, uses and creator. */
export interface CreateTokenOptions {
  policies: string[];
  /** Lifetime in seconds; 0 or omitted: no expiry (unless a max TTL or the parent sets one). */
  ttlSeconds?: number;
  /** Maximum lifetime from creation in seconds, which renewal never passes; 0 means none. */
  maxTtlSeconds?: number;
  /** Authenticated requests the token may make; 0 or omitted: unlimited. */
  numUses?: number;
  /** Whether `renew` may extend the token; true when omitted. */
  renewable?: boolean;
  meta?: Record<string, string>;
  /** The caller creating the token, which becomes its parent. Omitted for server-issued tokens. */
  creator?: Caller;
  /**
   * Creates the token without a parent, as Vault's `no_parent`, so that revoking the creator
   * leaves it alone. Only a creator with the root policy may do this.
   */
  orphan?: boolean;
  /** The Mesos task the token is for, recorded as `task_id` in its meta. */
  taskId?: string;
}

/** A new token. The plain token exists only here and is never stored. */
export interface CreatedToken {
  token: string;
  accessor: string;
  info: TokenInfo;
  /** Adjustments made to the request, such as a TTL capped at the parent's expiry. */
  warnings: string[];
}

/** The result of a renewal. */
export interface Renewal {
  info: TokenInfo;
  /** Seconds from now until the token expires. */
  leaseSeconds: number;
  warnings: string[];
}

/** Hashes a token for storage and lookup; tokens are only ever stored as this hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Creates and stores a token. With a creator, the new token is its child. Its policies
 * must then be a subset of the creator's unless the creator has the root policy, and its
 * lifetime is capped at the creator's expiry. A use-limited creator may not create
 * children, as in Vault. With `orphan` the subset rule still applies, but the token has
 * no parent and no cap. Throws INVALID_ARGUMENT or PERMISSION_DENIED.
 */
export async function createToken(
  store: Store,
  options: CreateTokenOptions,
): Promise<CreatedToken> {
  checkOptions(options);
  const creatorRecord = options.creator
    ? await creatorOf(store, options.creator, options)
    : undefined;
  const parent = options.orphan ? undefined : creatorRecord;
  const warnings: string[] = [];
  const lifetime = lifetimeOf(options, parent, warnings);

  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const now = Date.now();
  const record: TokenRecord = {
    accessor: randomBytes(16).toString('hex'),
    hash: hashToken(token),
    policies: [...new Set(options.policies)],
    createdTime: new Date(now).toISOString(),
    expireTime: expiryOf(now, lifetime.ttlSeconds, lifetime.maxTtlSeconds, parent?.expireTime),
    ttlSeconds: lifetime.ttlSeconds,
    maxTtlSeconds: lifetime.maxTtlSeconds,
    usesRemaining: options.numUses ? options.numUses : null,
    renewable: options.renewable ?? true,
    meta: metaOf(options),
    parentAccessor: parent?.accessor ?? null,
  };
  await store.saveToken(record);
  return { token, accessor: record.accessor, info: infoOf(record), warnings };
}

/**
 * Authenticates a token and consumes one of its uses. An unknown, expired or used-up
 * token is PERMISSION_DENIED, like Vault's 403, and an expired one is revoked with its
 * descendants on the spot. A missing token is TOKEN_MISSING. Expired tokens that are never
 * sent again are removed by `startTokenTidy`.
 */
export async function authenticate(store: Store, token: string | undefined): Promise<Caller> {
  if (!token) {
    throw new TesseraError(
      'TOKEN_MISSING',
      'no token sent; set TESSERA_TOKEN or send the X-Vault-Token header',
    );
  }
  const hash = hashToken(token);
  const record = token.startsWith(TOKEN_PREFIX) ? await store.useToken(hash) : undefined;
  if (!record || !sameHash(record.hash, hash)) {
    throw invalidToken();
  }
  if (isExpired(record)) {
    await store.deleteToken(record.accessor);
    throw invalidToken();
  }

  const usesRemaining = record.usesRemaining === null ? null : record.usesRemaining - 1;
  const info = { ...infoOf(record), usesRemaining };
  return { accessor: record.accessor, policies: record.policies, meta: record.meta, info };
}

/** Returns a live token's metadata, never its hash. Throws NOT_FOUND for none. */
export async function lookup(store: Store, accessor: string): Promise<TokenInfo> {
  return infoOf(await liveRecord(store, accessor));
}

/**
 * Extends a renewable token to expire `incrementSeconds` from now (by default its own
 * TTL), capped at its max TTL from creation. A capped renewal carries a warning, as in
 * Vault. Renewal sets the expiry, so a short increment can also bring it closer. Throws
 * NOT_FOUND, or INVALID_ARGUMENT for a token that is not renewable or never expires.
 */
export async function renew(
  store: Store,
  accessor: string,
  incrementSeconds?: number,
): Promise<Renewal> {
  const record = await liveRecord(store, accessor);
  checkRenewable(record);

  const now = Date.now();
  const increment = incrementSeconds || record.ttlSeconds;
  const limit = record.maxTtlSeconds
    ? Date.parse(record.createdTime) + record.maxTtlSeconds * 1000
    : Number.POSITIVE_INFINITY;
  const warnings: string[] = [];
  let expire = increment ? now + increment * 1000 : limit;
  if (expire > limit) {
    const left = Math.max(0, Math.floor((limit - now) / 1000));
    warnings.push(ttlCappedWarning(increment, left));
    expire = limit;
  }

  const expireTime = new Date(expire).toISOString();
  const updated = await store.updateToken(accessor, { expireTime });
  if (!updated) throw notFound(accessor);
  return {
    info: infoOf(updated),
    leaseSeconds: Math.max(0, Math.round((expire - now) / 1000)),
    warnings,
  };
}

/**
 * Revokes a token and every token descended from it. Refuses, with LAST_ADMIN_TOKEN, to
 * remove the last token that can manage tokens and policies (see `checkNotLastAdmin`).
 * Returns the accessors revoked; throws NOT_FOUND when no token has the accessor.
 */
export async function revoke(store: Store, accessor: string): Promise<string[]> {
  return withAdminLock(store, async () => {
    if (!(await store.findTokenByAccessor(accessor))) throw notFound(accessor);
    await checkNotLastAdmin(store, { revoking: accessor });
    return store.deleteToken(accessor);
  });
}

/** Checks the form of an accessor sent by a caller. Throws INVALID_ARGUMENT. */
export function checkAccessor(accessor: string): void {
  // A token pasted where an accessor belongs would otherwise reach paths, logs and errors.
  if (accessor.includes(TOKEN_PREFIX)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'accessor looks like a token (it contains tsr_); send the accessor, never the token, ' +
        'and revoke the token if it was exposed',
    );
  }
  if (!ACCESSOR.test(accessor)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      "accessor is invalid; an accessor has 1 to 128 letters, digits, '-' or '_', as " +
        "'tessera token create' prints it",
    );
  }
}

/** Tests whether a token's expiry has passed. */
export function isExpired(record: TokenRecord, now: number = Date.now()): boolean {
  return record.expireTime !== null && Date.parse(record.expireTime) <= now;
}

async function creatorOf(
  store: Store,
  creator: Caller,
  options: CreateTokenOptions,
): Promise<TokenRecord> {
  if (creator.info.usesRemaining !== null) {
    throw new TesseraError(
      'PERMISSION_DENIED',
      'permission denied: a token with a use limit cannot create child tokens',
    );
  }
  if (options.orphan && !creator.policies.includes(ROOT_POLICY)) {
    throw new TesseraError(
      'PERMISSION_DENIED',
      `permission denied: only a token with the ${ROOT_POLICY} policy may create a token ` +
        'without a parent (no_parent)',
    );
  }
  checkSubset(creator, options.policies);

  // A creator revoked since it authenticated must not leave an orphan behind.
  const record = await store.findTokenByAccessor(creator.accessor);
  if (!record || isExpired(record)) throw invalidToken();
  return record;
}

async function liveRecord(store: Store, accessor: string): Promise<TokenRecord> {
  const record = await store.findTokenByAccessor(accessor);
  if (!record || isExpired(record)) throw notFound(accessor);
  return record;
}

function checkRenewable(record: TokenRecord): void {
  if (!record.renewable) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `token ${record.accessor} is not renewable; create a new token before it expires`,
    );
  }
  if (record.expireTime === null) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `token ${record.accessor} has no TTL, so it never expires and there is nothing to renew`,
    );
  }
}

function infoOf(record: TokenRecord): TokenInfo {
  const { hash: _hash, ...info } = record;
  return info;
}

// The store finds the record by this hash already. Comparing again in constant time means
// that a store lookup that is not an exact match cannot let another token in.
function sameHash(stored: string, computed: string): boolean {
  const a = Buffer.from(stored, 'hex');
  const b = Buffer.from(computed, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function invalidToken(): TesseraError {
  return new TesseraError(
    'PERMISSION_DENIED',
    'permission denied: the token is invalid or expired',
  );
}

function notFound(accessor: string): TesseraError {
  return new TesseraError(
    'NOT_FOUND',
    `no live token has accessor ${accessor}; it may have expired or been revoked`,
    { accessor },
  );
}
