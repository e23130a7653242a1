import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type {
  RotationRecord,
  SecretMetadata,
  StageLabels,
  StoredVersion,
  TokenRecord,
  VersionInfo,
} from './store.ts';

/** A row of the `secrets` table, as node:sqlite returns it. */
export interface SecretRow {
  path: string;
  created_time: string;
  updated_time: string;
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: number;
  custom_metadata: string;
  current_stage: number | null;
  previous_stage: number | null;
  pending_stage: number | null;
}

/** A row of the `rotations` table, as node:sqlite returns it. */
export interface RotationRow {
  path: string;
  policy: string;
  state: string;
  next_run_time: string | null;
  updated_time: string;
}

/** A row of the `versions` table, as node:sqlite returns it. */
export interface VersionRow {
  version: number;
  created_time: string;
  deletion_time: string | null;
  destroyed: number;
  author: string;
  kek_id: number | null;
  wrapped_key: Uint8Array | null;
  ciphertext: Uint8Array | null;
}

/** The columns of a `versions` row that describe the version, without the sealed value. */
export type VersionInfoRow = Pick<
  VersionRow,
  'version' | 'created_time' | 'deletion_time' | 'destroyed' | 'author'
>;

/** A row of the `task_logins` table, as node:sqlite returns it. */
export interface TaskLoginRow {
  framework_id: string;
  task_id: string;
  accessor: string;
  login_time: string;
  ended_time: string | null;
}

/** A row of the `tokens` table, as node:sqlite returns it. */
export interface TokenRow {
  accessor: string;
  hash: string;
  policies: string;
  created_time: string;
  expire_time: string | null;
  meta: string;
  parent_accessor: string | null;
  ttl_seconds: number;
  max_ttl_seconds: number;
  uses_remaining: number | null;
  renewable: number;
}

// Version lists are bound as one JSON array and expanded by json_each, so one prepared
// statement serves any number of versions.
const IN_VERSIONS = 'version IN (SELECT value FROM json_each(?))';

const SQL = {
  selectSecret: 'SELECT * FROM secrets WHERE path = ?',
  insertSecret: `INSERT INTO secrets (path, created_time, updated_time) VALUES (?, ?, ?)`,
  recordWrite: `UPDATE secrets SET current_version = ?, oldest_version = ?, updated_time = ?
    WHERE path = ?`,
  patchSecret: `UPDATE secrets SET max_versions = coalesce(?, max_versions),
    cas_required = coalesce(?, cas_required), custom_metadata = coalesce(?, custom_metadata),
    updated_time = ? WHERE path = ?`,
  deleteSecret: 'DELETE FROM secrets WHERE path = ?',
  listAll: 'SELECT path FROM secrets',
  // Every path that starts with a prefix ending in '/' sorts between that prefix and the
  // same prefix ending in '0', the next byte. This range uses the primary key, and unlike
  // LIKE it treats '%' and '_' in paths as plain characters.
  listRange: 'SELECT path FROM secrets WHERE path >= ? AND path < ?',
  selectVersion: 'SELECT * FROM versions WHERE path = ? AND version = ?',
  selectVersions: `SELECT version, created_time, deletion_time, destroyed, author
    FROM versions WHERE path = ? ORDER BY version`,
  insertVersion: `INSERT INTO versions
    (path, version, created_time, author, kek_id, wrapped_key, ciphertext)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  // Versions that a stage label points at are kept whatever their age.
  trimVersions: `DELETE FROM versions WHERE path = ?1 AND version < ?2 AND version NOT IN
    (SELECT coalesce(s, 0) FROM (SELECT current_stage AS s FROM secrets WHERE path = ?1
    UNION ALL SELECT previous_stage FROM secrets WHERE path = ?1
    UNION ALL SELECT pending_stage FROM secrets WHERE path = ?1))`,
  oldestVersion: 'SELECT min(version) AS version FROM versions WHERE path = ?',
  setStages: `UPDATE secrets SET current_stage = ?, previous_stage = ?, pending_stage = ?,
    updated_time = ? WHERE path = ?`,
  versionExists: 'SELECT 1 AS found FROM versions WHERE path = ? AND version = ?',
  saveRotation: `INSERT INTO rotations (path, policy, state, next_run_time, updated_time)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET policy = excluded.policy,
    state = excluded.state, next_run_time = excluded.next_run_time,
    updated_time = excluded.updated_time`,
  readRotation: 'SELECT * FROM rotations WHERE path = ?',
  listRotations: 'SELECT * FROM rotations ORDER BY path',
  deleteRotation: 'DELETE FROM rotations WHERE path = ?',
  softDelete: `UPDATE versions SET deletion_time = ?
    WHERE path = ? AND ${IN_VERSIONS} AND deletion_time IS NULL AND destroyed = 0`,
  undelete: `UPDATE versions SET deletion_time = NULL
    WHERE path = ? AND ${IN_VERSIONS} AND destroyed = 0`,
  destroy: `UPDATE versions SET destroyed = 1, kek_id = NULL, wrapped_key = NULL,
    ciphertext = NULL WHERE path = ? AND ${IN_VERSIONS}`,
  saveToken: `INSERT INTO tokens
    (accessor, hash, policies, created_time, expire_time, meta, parent_accessor, ttl_seconds,
    max_ttl_seconds, uses_remaining, renewable)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (accessor) DO UPDATE SET hash = excluded.hash, policies = excluded.policies,
    created_time = excluded.created_time, expire_time = excluded.expire_time,
    meta = excluded.meta, parent_accessor = excluded.parent_accessor,
    ttl_seconds = excluded.ttl_seconds, max_ttl_seconds = excluded.max_ttl_seconds,
    uses_remaining = excluded.uses_remaining, renewable = excluded.renewable`,
  tokenByHash: 'SELECT * FROM tokens WHERE hash = ?',
  tokenByAccessor: 'SELECT * FROM tokens WHERE accessor = ?',
  tokenTree: `WITH RECURSIVE tree (accessor, depth) AS (
      SELECT accessor, 0 FROM tokens WHERE accessor = ?
      UNION
      SELECT tokens.accessor, tree.depth + 1 FROM tokens
      JOIN tree ON tokens.parent_accessor = tree.accessor
    ) SELECT accessor FROM tree ORDER BY depth, accessor`,
  deleteTokens: 'DELETE FROM tokens WHERE accessor IN (SELECT value FROM json_each(?))',
  consumeTokenUse: 'UPDATE tokens SET uses_remaining = uses_remaining - 1 WHERE accessor = ?',
  setTokenExpiry: 'UPDATE tokens SET expire_time = ? WHERE accessor = ?',
  countTokens: 'SELECT count(*) AS count FROM tokens',
  // The BINARY collation compares UTF-8 bytes, as the Store interface's sort order requires.
  listTokenAccessors: 'SELECT accessor FROM tokens ORDER BY accessor',
  savePolicy: `INSERT INTO policies (name, policy, created_time, updated_time) VALUES (?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET policy = excluded.policy,
    updated_time = excluded.updated_time`,
  readPolicy: 'SELECT policy FROM policies WHERE name = ?',
  listPolicies: 'SELECT name FROM policies ORDER BY name',
  deletePolicy: 'DELETE FROM policies WHERE name = ?',
  saveLoginRole: `INSERT INTO login_roles (name, role, created_time, updated_time)
    VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET role = excluded.role,
    updated_time = excluded.updated_time`,
  readLoginRole: 'SELECT role FROM login_roles WHERE name = ?',
  listLoginRoles: 'SELECT name FROM login_roles ORDER BY name',
  deleteLoginRole: 'DELETE FROM login_roles WHERE name = ?',
  claimTaskLogin: `INSERT INTO task_logins
    (framework_id, task_id, accessor, login_time, ended_time) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (framework_id, task_id) DO NOTHING`,
  findTaskLogin: 'SELECT * FROM task_logins WHERE framework_id = ? AND task_id = ?',
  listRunningTaskLogins: `SELECT * FROM task_logins WHERE ended_time IS NULL
    ORDER BY login_time, framework_id, task_id`,
  endTaskLogin: `UPDATE task_logins SET ended_time = ?
    WHERE framework_id = ? AND task_id = ? AND ended_time IS NULL`,
  deleteTaskLoginsBefore: 'DELETE FROM task_logins WHERE login_time < ?',
} as const;

/** The prepared statements of the SQLite store, by purpose. */
export type Statements = { [name in keyof typeof SQL]: StatementSync };

/** Prepares every statement once, so that no SQL is built from values at run time. */
export function prepareStatements(db: DatabaseSync): Statements {
  const entries = Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]);
  return Object.fromEntries(entries) as Statements;
}

/** Converts a `versions` row to the VersionInfo it describes. */
export function toVersionInfo(row: VersionInfoRow): VersionInfo {
  return {
    version: row.version,
    createdTime: row.created_time,
    deletionTime: row.deletion_time,
    destroyed: row.destroyed === 1,
    author: row.author,
  };
}

/** Converts a full `versions` row to a StoredVersion, sealed value included. */
export function toStoredVersion(row: VersionRow): StoredVersion {
  const info = toVersionInfo(row);
  if (row.kek_id === null || row.wrapped_key === null || row.ciphertext === null) {
    return { info, sealed: null };
  }
  return {
    info,
    sealed: {
      kekId: row.kek_id,
      wrappedKey: toBuffer(row.wrapped_key),
      ciphertext: toBuffer(row.ciphertext),
    },
  };
}

/** Converts a `secrets` row and its version rows to SecretMetadata. */
export function toMetadata(row: SecretRow, versions: VersionInfoRow[]): SecretMetadata {
  return {
    path: row.path,
    createdTime: row.created_time,
    updatedTime: row.updated_time,
    currentVersion: row.current_version,
    oldestVersion: row.oldest_version,
    maxVersions: row.max_versions,
    casRequired: row.cas_required === 1,
    customMetadata: JSON.parse(row.custom_metadata) as Record<string, string>,
    versions: versions.map(toVersionInfo),
    stages: toStages(row),
  };
}

/** Reads the stage labels of a `secrets` row. */
export function toStages(row: SecretRow): StageLabels {
  return {
    current: row.current_stage,
    previous: row.previous_stage,
    pending: row.pending_stage,
  };
}

/** Converts a `rotations` row to a RotationRecord. */
export function toRotationRecord(row: RotationRow): RotationRecord {
  return {
    path: row.path,
    policy: row.policy,
    state: row.state,
    nextRunTime: row.next_run_time,
    updatedTime: row.updated_time,
  };
}

/** Converts a `tokens` row to a TokenRecord. */
export function toTokenRecord(row: TokenRow): TokenRecord {
  return {
    accessor: row.accessor,
    hash: row.hash,
    policies: JSON.parse(row.policies) as string[],
    createdTime: row.created_time,
    expireTime: row.expire_time,
    meta: JSON.parse(row.meta) as Record<string, string>,
    parentAccessor: row.parent_accessor,
    ttlSeconds: row.ttl_seconds,
    maxTtlSeconds: row.max_ttl_seconds,
    usesRemaining: row.uses_remaining,
    renewable: row.renewable === 1,
  };
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
