import type { Pool, PoolClient } from 'pg';
import { TesseraError } from '../errors.ts';

/**
 * A connection (or the pool) of the PostgreSQL store. Its errors are TesseraErrors that name
 * the database with its password masked.
 */
export interface Session {
  /** Runs one statement and returns its rows. */
  rows<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs one statement and returns the number of rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
}

/** The database as messages name it, and the password to scrub from driver errors. */
export interface Target {
  /** The connection URL with its password masked. */
  where: string;
  password: string;
}

/** The SQLSTATE of a unique constraint violation. */
export const UNIQUE_VIOLATION = '23505';

/** Wraps a pool or a checked-out client as a Session. */
export function createSession(db: Pool | PoolClient, target: Target): Session {
  const query = async (sql: string, params: unknown[] | undefined) => {
    try {
      return await db.query(sql, params);
    } catch (error) {
      throw storeError(error, target);
    }
  };
  return {
    rows: async <R>(sql: string, params?: unknown[]) => (await query(sql, params)).rows as R[],
    run: async (sql: string, params?: unknown[]) => (await query(sql, params)).rowCount ?? 0,
  };
}

/**
 * Converts an error of the pg driver to INTERNAL, with its SQLSTATE (or system error code)
 * in `details.sqlState`, and `advice` as the next step. Only the driver's message is kept: pg puts the values of a row that
 * broke a constraint in `detail`, which could hold ciphertext, so `detail` is dropped.
 */
export function storeError(
  error: unknown,
  target: Target,
  advice = 'retry, and check that the database is running and reachable',
): TesseraError {
  if (error instanceof TesseraError) {
    return error;
  }
  const code = (error as { code?: unknown }).code;
  const sqlState = typeof code === 'string' ? code : undefined;
  const message = scrub(error instanceof Error ? error.message : String(error), target.password);
  return new TesseraError(
    'INTERNAL',
    `PostgreSQL store ${target.where} failed: ${message}${sqlState ? ` (${sqlState})` : ''}; ` +
      advice,
    { database: target.where, sqlState },
  );
}

/** Removes a password, plain or percent-encoded, from a message of the driver. */
export function scrub(text: string, password: string): string {
  if (password === '') {
    return text;
  }
  return text.split(password).join('****').split(encodeURIComponent(password)).join('****');
}
