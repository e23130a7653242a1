import { TesseraError } from '../errors.ts';
import { checkCas } from './cas.ts';
import type { Session } from './postgres-session.ts';
import { labelNewVersion } from './postgres-stages.ts';
import { type SecretRow, SQL, toMetadata, type VersionInfoRow } from './postgres-statements.ts';
import {
  DEFAULT_MAX_VERSIONS,
  type PutRequest,
  type SecretMetadata,
  type VersionInfo,
} from './store.ts';

// The version half of the PostgreSQL store. Each function runs inside a transaction that
// PostgresStore opens.

/** How often a write re-inserts a secret's row that another request deleted meanwhile. */
const LOCK_ATTEMPTS = 3;

/**
 * Locks a secret's row, inserting an empty one first when the path is new, so that a new
 * path has a row to queue on. A row deleted while this waited is inserted again.
 */
export async function lockSecret(db: Session, path: string, time: string): Promise<SecretRow> {
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    await db.run(SQL.ensureSecret, [path, time]);
    const [secret] = await db.rows<SecretRow>(SQL.lockSecret, [path]);
    if (secret !== undefined) {
      return secret;
    }
  }
  throw new TesseraError(
    'INTERNAL',
    `secret ${path} was deleted by another request ${LOCK_ATTEMPTS} times during this write; retry`,
    { path },
  );
}

/** Writes one version of a locked secret; see `Store.putVersions`. */
export async function putOne(db: Session, write: PutRequest, index?: number): Promise<VersionInfo> {
  const time = new Date().toISOString();
  const [secret] = await db.rows<SecretRow>(SQL.selectSecret, [write.path]);
  if (secret === undefined) {
    throw new TesseraError('INTERNAL', `secret ${write.path} has no row after locking it`);
  }
  // A row that this batch inserted only to lock it has version 0 and no cas requirement,
  // so check-and-set treats it as a secret that does not exist.
  checkCas(write, index, secret.current_version, secret.cas_required);

  const version = secret.current_version + 1;
  const sealed = write.seal(version);
  const oldest = secret.oldest_version || version;
  await db.run(SQL.recordWrite, [version, oldest, time, write.path]);
  await db.run(SQL.insertVersion, [
    write.path,
    version,
    time,
    write.author,
    sealed.kekId,
    sealed.wrappedKey,
    sealed.ciphertext,
  ]);
  await labelNewVersion(db, secret, version, write.stage ?? 'current', time);

  const max = secret.max_versions || DEFAULT_MAX_VERSIONS;
  if (version - oldest + 1 > max) {
    await db.run(SQL.trimVersions, [write.path, version - max + 1]);
    const [kept] = await db.rows<{ version: number | null }>(SQL.oldestVersion, [write.path]);
    await db.run(SQL.recordWrite, [version, kept?.version ?? version, time, write.path]);
  }
  return { version, createdTime: time, deletionTime: null, destroyed: false, author: write.author };
}

/** Reads a secret's metadata and version list. */
export async function readSecretMetadata(
  db: Session,
  path: string,
): Promise<SecretMetadata | undefined> {
  const [secret] = await db.rows<SecretRow>(SQL.selectSecret, [path]);
  if (secret === undefined) {
    return undefined;
  }
  const versions = await db.rows<VersionInfoRow>(SQL.selectVersions, [path]);
  return toMetadata(secret, versions);
}
