import { realpath, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { TesseraError } from '../errors.ts';

/** A lock that one server process holds, until it stops, on a file that it alone may write. */
export interface InstanceLock {
  release(): void;
}

/** The thing a lock protects, as messages name it, and the flag that chooses another. */
export interface LockTarget {
  /** E.g. `the data directory /var/lib/tessera`. */
  description: string;
  flag: string;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

// How long a server that did not get the lock waits to read who holds it; the holder
// writes that row only for an instant.
const READ_HOLDER_TIMEOUT_MS = 1000;

/**
 * Locks an audit file, so that a second server on it stops at start rather than write a
 * second chain into it. The lock file sits beside the file, hidden so that `audit.log*`
 * globs miss it. A FIFO or device is not locked, because its chain is not continued.
 */
export async function lockAuditFile(auditFile: string): Promise<InstanceLock | undefined> {
  const stats = await stat(auditFile).catch(() => undefined);
  if (stats && !stats.isFile()) return undefined;
  const resolved = stats ? await realpath(auditFile) : auditFile;
  const lockFile = join(dirname(resolved), `.${basename(resolved)}.lock`);
  return acquireInstanceLock(lockFile, {
    description: `the audit file ${auditFile}`,
    flag: '--audit-file',
  });
}

/**
 * Takes the lock in `lockFile`, or throws CONFIG_INVALID naming the process that holds it.
 * The lock is SQLite's write lock on that file, which is an fcntl lock, so the kernel
 * frees it when its process ends in any way, SIGKILL included: a lock never outlives its
 * server. The file also records the holder's process id, host and start time, for the
 * message of a server that finds it taken.
 */
export function acquireInstanceLock(lockFile: string, target: LockTarget): InstanceLock {
  const db = openLockFile(lockFile, target);
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, host TEXT, since TEXT)');
    db.exec('DELETE FROM holder');
    db.prepare('INSERT INTO holder VALUES (?, ?, ?)').run(
      process.pid,
      hostname(),
      new Date().toISOString(),
    );
    // A reader sees the row only once it is committed, so the lock is taken again after.
    db.exec('COMMIT');
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    db.close();
    if (!isBusy(error)) throw lockFileError(lockFile, target, error);
    throw inUse(target, readHolder(lockFile));
  }
  return { release: () => db.close() };
}

function openLockFile(lockFile: string, target: LockTarget): DatabaseSync {
  try {
    const db = new DatabaseSync(lockFile, { timeout: 0 });
    db.exec('PRAGMA journal_mode = DELETE');
    return db;
  } catch (error) {
    throw lockFileError(lockFile, target, error);
  }
}

// NOTE: this opens the file through SQLite, never with fs: closing any other descriptor
// of the file would drop this process's fcntl locks on it.
function readHolder(lockFile: string): Holder | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(lockFile, { readOnly: true, timeout: READ_HOLDER_TIMEOUT_MS });
    const row = db.prepare('SELECT pid, host, since FROM holder').get() as Holder | undefined;
    // A lock lost in the instant between its two transactions may still show this process.
    return row && row.pid !== process.pid ? row : undefined;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

function inUse(target: LockTarget, holder: Holder | undefined): TesseraError {
  const where = holder?.host === hostname() ? '' : ` on host ${holder?.host}`;
  const server = holder
    ? `the Tessera server with process id ${holder.pid}${where}, running since ${holder.since}`
    : 'another Tessera server';
  return new TesseraError(
    'CONFIG_INVALID',
    `${target.description} is in use by ${server}; stop that server, or give this one another ${target.flag}`,
    { pid: holder?.pid },
  );
}

function lockFileError(lockFile: string, target: LockTarget, error: unknown): TesseraError {
  const code = (error as { errstr?: string; code?: string }).errstr ?? 'error';
  return new TesseraError(
    'CONFIG_INVALID',
    `could not lock ${target.description} through ${lockFile} (${code}); check that ` +
      'its directory exists and that this user may write there',
  );
}

function isBusy(error: unknown): boolean {
  // SQLITE_BUSY (5): another connection holds the write lock.
  return (error as { errcode?: number }).errcode === 5;
}
