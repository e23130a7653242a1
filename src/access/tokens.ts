import { createHash, randomBytes } from 'node:crypto';
import { TesseraError } from '../errors.ts';
import type { Store, TokenRecord } from '../store/store.ts';

/** The prefix of every token, so that secret scanners can recognise a leaked one. */
export const TOKEN_PREFIX = 'tsr_';

/** The policy that allows everything; only the set-up token carries it. */
export const ROOT_POLICY = 'root';

/** The caller a request was authenticated as. Holds the accessor, never the token. */
export interface Caller {
  accessor: string;
  policies: string[];
}

/** Hashes a token for storage and lookup; tokens are only ever stored as this hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Creates, stores and returns a new token; the plain token exists only in the return value. */
export async function createToken(
  store: Store,
  options: { policies: string[]; meta?: Record<string, string>; parentAccessor?: string },
): Promise<{ token: string; accessor: string }> {
  const token = TOKEN_PREFIX + randomBytes(24).toString('base64url');
  const accessor = randomBytes(12).toString('hex');
  const record: TokenRecord = {
    accessor,
    hash: hashToken(token),
    policies: options.policies,
    createdTime: new Date().toISOString(),
    expireTime: null,
    meta: options.meta ?? {},
    parentAccessor: options.parentAccessor ?? null,
  };
  await store.saveToken(record);
  return { token, accessor };
}

/** Looks a token up; an unknown or expired token is PERMISSION_DENIED, like Vault's 403. */
export async function authenticate(store: Store, token: string | undefined): Promise<Caller> {
  if (!token) {
    throw new TesseraError(
      'TOKEN_MISSING',
      'no token sent; set TESSERA_TOKEN or send the X-Vault-Token header',
    );
  }
  const record = await store.findToken(hashToken(token));
  const expired = record?.expireTime ? Date.parse(record.expireTime) <= Date.now() : false;
  if (!record || expired) {
    throw new TesseraError(
      'PERMISSION_DENIED',
      'permission denied: the token is invalid or expired',
    );
  }
  return { accessor: record.accessor, policies: record.policies };
}

/**
 * Checks that a caller may act on a path.
 * NOTE: only the root policy exists so far; any other policy is denied everything.
 */
export function authorize(caller: Caller, capability: string, path: string): void {
  if (caller.policies.includes(ROOT_POLICY)) return;
  throw new TesseraError('PERMISSION_DENIED', `permission denied: ${capability} on '${path}'`);
}
