import { open } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { TesseraError } from '../errors.ts';
import { migrateSqlite } from './migrations.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

/** How long a statement waits for another process's lock before failing, by default. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** How long to wait for a lock held by another process, in milliseconds. */
  busyTimeoutMs?: number;
}

const MEMORY = ':memory:';

/**
 * Opens (creating if needed) a SQLite store at `file`, or an in-memory one for ':memory:'.
 * A new file is created with mode 0600. Files use WAL mode and synchronous=FULL, and
 * freed pages are zeroed (secure_delete) so that destroyed ciphertext leaves no copy.
 * A statement that waits longer than `busyTimeoutMs` for another process's lock fails
 * with INTERNAL.
 */
export async function openSqliteStore(
  file: string,
  options: SqliteStoreOptions = {},
): Promise<Store> {
  if (file !== MEMORY) {
    await createPrivateFile(file);
  }

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout: options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new TesseraError('CONFIG_INVALID', `failed to open store ${file}: ${reason(error)}`, {
      file,
    });
  }

  try {
    configure(db, file);
    migrateSqlite(db, file);
  } catch (error) {
    db.close();
    throw error;
  }
  return new SqliteStore(db, file);
}

async function createPrivateFile(file: string): Promise<void> {
  try {
    const handle = await open(file, 'wx', 0o600);
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      throw new TesseraError(
        'CONFIG_INVALID',
        `failed to create store ${file}: ${reason(error)}; check that its directory exists ` +
          `and is writable`,
        { file },
      );
    }
  }
}

function configure(db: DatabaseSync, file: string): void {
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('PRAGMA secure_delete = ON');
  if (file === MEMORY) {
    return;
  }

  const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
  if (mode !== 'wal') {
    throw new TesseraError(
      'CONFIG_INVALID',
      `store ${file} could not switch to WAL mode (it is in ${String(mode)} mode); put it on ` +
        `a local file system`,
      { file },
    );
  }
  db.exec('PRAGMA synchronous = FULL');
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
