import pg from 'pg';
import { TesseraError } from '../errors.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { storeError, type Target } from './postgres-session.ts';
import { PostgresStore } from './postgres-store.ts';
import type { Store } from './store.ts';

/** Connections one store keeps open at most; each Tessera replica has its own pool. */
export const POSTGRES_POOL_SIZE = 10;

/** How long opening a connection may take before it fails, in milliseconds. */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;

const SCHEMES = new Set(['postgres:', 'postgresql:']);
const MASK = '****';

/**
 * Opens a PostgreSQL store at `url` (postgres://USER:PASSWORD@HOST:PORT/DATABASE, with the
 * query parameters that pg accepts, such as sslmode) and brings its schema up to date.
 * A password left out of the URL is taken from PGPASSWORD, as libpq does. Messages name the
 * database by `maskDatabaseUrl(url)`, never with its password.
 */
export async function openPostgresStore(url: string): Promise<Store> {
  const target = parseTarget(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: POSTGRES_POOL_SIZE,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
  });
  // pg emits 'error' on the pool when the server closes an idle connection, and an
  // unhandled 'error' event ends the process. The pool drops that connection by itself.
  pool.on('error', () => undefined);

  try {
    const client = await pool.connect();
    try {
      await migratePostgres(client, target.where);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw openError(error, target);
  }
  return new PostgresStore(pool, target);
}

/**
 * Returns `url` with its password, and any `password` query parameter, replaced by
 * `****`, for messages and logs. A value that is not a URL is not echoed at all.
 */
export function maskDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(invalid database URL)';
  }
  if (parsed.password !== '') {
    parsed.password = MASK;
  }
  if (parsed.searchParams.has('password')) {
    parsed.searchParams.set('password', MASK);
  }
  return parsed.toString().replace(encodeURIComponent(MASK), MASK);
}

function parseTarget(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TesseraError(
      'CONFIG_INVALID',
      'the database URL is not a valid URL; write it as ' +
        'postgres://USER:PASSWORD@HOST:PORT/DATABASE, percent-encoding special characters',
    );
  }
  // A URL without the right scheme may be something else, a password included, so it is
  // not echoed.
  if (!SCHEMES.has(parsed.protocol)) {
    throw new TesseraError(
      'CONFIG_INVALID',
      'the database URL does not start with postgres:// or postgresql://; write it as ' +
        'postgres://USER:PASSWORD@HOST:PORT/DATABASE',
    );
  }
  const where = maskDatabaseUrl(url);
  const password = decode(parsed.password) || (parsed.searchParams.get('password') ?? '');
  return { where, password };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function openError(error: unknown, target: Target): TesseraError {
  if (error instanceof TesseraError && error.code === 'CONFIG_INVALID') {
    return error;
  }
  const advice =
    'check --database-url (or TESSERA_DATABASE_URL), that the server is reachable, and that ' +
    'the role may create tables in the database';
  const cause = storeError(error, target, advice);
  return new TesseraError('CONFIG_INVALID', cause.message, cause.details);
}
