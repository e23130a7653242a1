import type { Session } from './postgres-session.ts';
import {
  type RotationRow,
  type SecretRow,
  SQL,
  toRotationRecord,
  toStages,
} from './postgres-statements.ts';
import type { RotationRecord, StageLabels, WriteStage } from './store.ts';

// Each function runs inside a transaction that PostgresStore opens. Those that move labels
// lock the secret's row first, as every write to a secret does.

/** Moves the stage labels after `version` was inserted at `stage`. */
export async function labelNewVersion(
  db: Session,
  secret: SecretRow,
  version: number,
  stage: WriteStage,
  time: string,
): Promise<void> {
  const current = secret.current_stage;
  const previous = secret.previous_stage;
  if (stage === 'pending') {
    await db.run(SQL.setStages, [current, previous, version, time, secret.path]);
    return;
  }
  await db.run(SQL.setStages, [
    version,
    current ?? previous,
    secret.pending_stage,
    time,
    secret.path,
  ]);
}

/** Points `current` at an existing version; see `Store.promoteVersion`. */
export async function promoteRow(
  db: Session,
  path: string,
  version: number,
  time: string,
): Promise<StageLabels | undefined> {
  const secret = await lockedSecretWith(db, path, version);
  if (secret === undefined) {
    return undefined;
  }
  const old = toStages(secret);
  const previous = old.current === version ? old.previous : old.current;
  const pending = old.pending === version ? null : old.pending;
  await db.run(SQL.setStages, [version, previous, pending, time, path]);
  return { current: version, previous, pending };
}

/** Points `pending` at an existing version, or clears it; see `Store.setPending`. */
export async function setPendingRow(
  db: Session,
  path: string,
  version: number | null,
  time: string,
): Promise<StageLabels | undefined> {
  const secret = await lockedSecretWith(db, path, version);
  if (secret === undefined) {
    return undefined;
  }
  const old = toStages(secret);
  await db.run(SQL.setStages, [old.current, old.previous, version, time, path]);
  return { ...old, pending: version };
}

/** Inserts or replaces a rotation record, creating the secret's metadata when missing. */
export async function saveRotationRow(
  db: Session,
  record: RotationRecord,
  time: string,
): Promise<void> {
  await db.run(SQL.ensureSecret, [record.path, time]);
  await db.run(SQL.saveRotation, [
    record.path,
    record.policy,
    record.state,
    record.nextRunTime,
    time,
  ]);
}

/** Reads one rotation record. */
export async function rotationRow(db: Session, path: string): Promise<RotationRecord | undefined> {
  const [row] = await db.rows<RotationRow>(SQL.readRotation, [path]);
  return row === undefined ? undefined : toRotationRecord(row);
}

/** Reads every rotation record, sorted by path. */
export async function rotationRows(db: Session): Promise<RotationRecord[]> {
  return (await db.rows<RotationRow>(SQL.listRotations)).map(toRotationRecord);
}

// Locks the secret's row; undefined when the secret, or a non-null version, does not exist.
async function lockedSecretWith(
  db: Session,
  path: string,
  version: number | null,
): Promise<SecretRow | undefined> {
  const [secret] = await db.rows<SecretRow>(SQL.lockSecret, [path]);
  if (secret === undefined || version === null) {
    return secret;
  }
  const found = await db.rows(SQL.versionExists, [path, version]);
  return found.length === 0 ? undefined : secret;
}
