import { TesseraError } from '../errors.ts';
import { type Statements, type TokenRow, toTokenRecord } from './sqlite-statements.ts';
import type { TokenPatch, TokenRecord } from './store.ts';

// The token and policy half of the SQLite store. Each function runs inside a transaction
// that SqliteStore opens, so a read followed by a write here is atomic.

const SQLITE_CONSTRAINT_UNIQUE = 2067;

/** Inserts or replaces a token row; a hash held by another accessor is INTERNAL. */
export function saveTokenRow(sql: Statements, record: TokenRecord): void {
  try {
    sql.saveToken.run(
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
      Number(record.renewable),
    );
  } catch (error) {
    if ((error as { errcode?: number }).errcode === SQLITE_CONSTRAINT_UNIQUE) {
      throw new TesseraError(
        'INTERNAL',
        `token ${record.accessor} has the same hash as another token; issue a new token`,
        { accessor: record.accessor },
      );
    }
    throw error;
  }
}

/** Finds a token row by the hash of the token. */
export function tokenByHash(sql: Statements, hash: string): TokenRecord | undefined {
  const row = sql.tokenByHash.get(hash) as TokenRow | undefined;
  return row === undefined ? undefined : toTokenRecord(row);
}

/** Finds a token row by its accessor. */
export function tokenByAccessor(sql: Statements, accessor: string): TokenRecord | undefined {
  const row = sql.tokenByAccessor.get(accessor) as TokenRow | undefined;
  return row === undefined ? undefined : toTokenRecord(row);
}

/** Deletes a token and its descendants; returns their accessors, the given one first. */
export function deleteTokenTree(sql: Statements, accessor: string): string[] {
  const rows = sql.tokenTree.all(accessor) as { accessor: string }[];
  const accessors = rows.map((row) => row.accessor);
  sql.deleteTokens.run(JSON.stringify(accessors));
  return accessors;
}

/** Consumes one use of a token; see `Store.useToken`. */
export function useTokenRow(sql: Statements, hash: string): TokenRecord | undefined {
  const record = tokenByHash(sql, hash);
  if (record === undefined || record.usesRemaining === null) {
    return record;
  }

  if (record.usesRemaining > 1) {
    sql.consumeTokenUse.run(record.accessor);
  } else {
    deleteTokenTree(sql, record.accessor);
  }
  return record;
}

/** Applies a patch to a token row and returns the result. */
export function updateTokenRow(
  sql: Statements,
  accessor: string,
  patch: TokenPatch,
): TokenRecord | undefined {
  const record = tokenByAccessor(sql, accessor);
  if (record === undefined) {
    return undefined;
  }

  if (patch.expireTime !== undefined) {
    sql.setTokenExpiry.run(patch.expireTime, accessor);
  }
  return tokenByAccessor(sql, accessor);
}
