import { isTesseraError, TesseraError } from '../errors.ts';
import type { Session } from './postgres-session.ts';
import { UNIQUE_VIOLATION } from './postgres-session.ts';
import { SQL, type TokenRow, toTokenRecord } from './postgres-statements.ts';
import type { TokenPatch, TokenRecord } from './store.ts';

// The token and policy half of the PostgreSQL store. Each function that reads and then
// writes runs inside a transaction that PostgresStore opens, and locks the token row it
// reads, so that two replicas never both spend the same use of a token.

/** Inserts or replaces a token row; a hash held by another accessor is INTERNAL. */
export async function saveTokenRow(db: Session, record: TokenRecord): Promise<void> {
  try {
    await db.run(SQL.saveToken, [
      record.accessor,
      record.hash,
      JSON.stringify(record.policies),
      record.createdTime,
      record.expireTime,
      JSON.stringify(record.meta),
      record.parentAccessor,
      record.ttlSeconds,
      record.maxTtlSeconds,
      record.usesRemaining,
      record.renewable,
    ]);
  } catch (error) {
    if (isTesseraError(error) && error.details?.sqlState === UNIQUE_VIOLATION) {
      throw new TesseraError(
        'INTERNAL',
        `token ${record.accessor} has the same hash as another token; issue a new token`,
        { accessor: record.accessor },
      );
    }
    throw error;
  }
}

/** Finds a token row by the hash of the token; with `lock`, the row stays locked until the transaction ends. */
export async function tokenByHash(
  db: Session,
  hash: string,
  lock = false,
): Promise<TokenRecord | undefined> {
  const [row] = await db.rows<TokenRow>(lock ? SQL.lockTokenByHash : SQL.tokenByHash, [hash]);
  return row === undefined ? undefined : toTokenRecord(row);
}

/** Finds a token row by its accessor; with `lock`, the row stays locked until the transaction ends. */
export async function tokenByAccessor(
  db: Session,
  accessor: string,
  lock = false,
): Promise<TokenRecord | undefined> {
  const sql = lock ? SQL.lockTokenByAccessor : SQL.tokenByAccessor;
  const [row] = await db.rows<TokenRow>(sql, [accessor]);
  return row === undefined ? undefined : toTokenRecord(row);
}

/** Deletes a token and its descendants; returns their accessors, the given one first. */
export async function deleteTokenTree(db: Session, accessor: string): Promise<string[]> {
  const rows = await db.rows<{ accessor: string }>(SQL.tokenTree, [accessor]);
  const accessors = rows.map((row) => row.accessor);
  await db.run(SQL.deleteTokens, [accessors]);
  return accessors;
}

/**
 * Consumes one use of a token; see `Store.useToken`. The row lock makes a concurrent use
 * on another connection wait, and then read the count this one left, or no row.
 */
export async function useTokenRow(db: Session, hash: string): Promise<TokenRecord | undefined> {
  const record = await tokenByHash(db, hash, true);
  if (record === undefined || record.usesRemaining === null) {
    return record;
  }

  if (record.usesRemaining > 1) {
    await db.run(SQL.consumeTokenUse, [record.accessor]);
  } else {
    await deleteTokenTree(db, record.accessor);
  }
  return record;
}

/** Applies a patch to a token row and returns the result. */
export async function updateTokenRow(
  db: Session,
  accessor: string,
  patch: TokenPatch,
): Promise<TokenRecord | undefined> {
  const record = await tokenByAccessor(db, accessor, true);
  if (record === undefined) {
    return undefined;
  }

  if (patch.expireTime !== undefined) {
    await db.run(SQL.setTokenExpiry, [patch.expireTime, accessor]);
  }
  return tokenByAccessor(db, accessor);
}
