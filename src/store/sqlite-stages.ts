import {
  type RotationRow,
  type SecretRow,
  type Statements,
  toRotationRecord,
  toStages,
} from './sqlite-statements.ts';
import type { RotationRecord, StageLabels, WriteStage } from './store.ts';

/** Moves the stage labels after `version` was inserted at `stage`. */
export function labelNewVersion(
  sql: Statements,
  secret: SecretRow | undefined,
  path: string,
  version: number,
  stage: WriteStage,
  time: string,
): void {
  const current = secret?.current_stage ?? null;
  const previous = secret?.previous_stage ?? null;
  const pending = secret?.pending_stage ?? null;
  if (stage === 'pending') {
    sql.setStages.run(current, previous, version, time, path);
    return;
  }
  sql.setStages.run(version, current ?? previous, pending, time, path);
}

/** Points `current` at an existing version; see `Store.promoteVersion`. */
export function promoteRow(
  sql: Statements,
  path: string,
  version: number,
  time: string,
): StageLabels | undefined {
  const secret = sql.selectSecret.get(path) as SecretRow | undefined;
  if (secret === undefined || sql.versionExists.get(path, version) === undefined) {
    return undefined;
  }
  const old = toStages(secret);
  const previous = old.current === version ? old.previous : old.current;
  const pending = old.pending === version ? null : old.pending;
  sql.setStages.run(version, previous, pending, time, path);
  return { current: version, previous, pending };
}

/** Points `pending` at an existing version, or clears it; see `Store.setPending`. */
export function setPendingRow(
  sql: Statements,
  path: string,
  version: number | null,
  time: string,
): StageLabels | undefined {
  const secret = sql.selectSecret.get(path) as SecretRow | undefined;
  if (secret === undefined) return undefined;
  if (version !== null && sql.versionExists.get(path, version) === undefined) return undefined;

  const old = toStages(secret);
  sql.setStages.run(old.current, old.previous, version, time, path);
  return { ...old, pending: version };
}

/** Inserts or replaces a rotation record, creating the secret's metadata when missing. */
export function saveRotationRow(sql: Statements, record: RotationRecord, time: string): void {
  if (sql.selectSecret.get(record.path) === undefined) {
    sql.insertSecret.run(record.path, time, time);
  }
  sql.saveRotation.run(record.path, record.policy, record.state, record.nextRunTime, time);
}

/** Reads one rotation record. */
export function rotationRow(sql: Statements, path: string): RotationRecord | undefined {
  const row = sql.readRotation.get(path) as RotationRow | undefined;
  return row === undefined ? undefined : toRotationRecord(row);
}

/** Reads every rotation record, sorted by path. */
export function rotationRows(sql: Statements): RotationRecord[] {
  return (sql.listRotations.all() as unknown as RotationRow[]).map(toRotationRecord);
}
