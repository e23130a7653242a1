import type {
  RotationRecord,
  SecretMetadata,
  StageLabels,
  StoredVersion,
  TaskLoginRecord,
  TokenRecord,
  VersionInfo,
} from './store.ts';

/** A row of the `secrets` table, as pg returns it. */
export interface SecretRow {
  path: string;
  created_time: Date;
  updated_time: Date;
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: boolean;
  custom_metadata: Record<string, string>;
  current_stage: number | null;
  previous_stage: number | null;
  pending_stage: number | null;
}

/** A row of the `rotations` table, as pg returns it. */
export interface RotationRow {
  path: string;
  policy: string;
  state: string;
  next_run_time: Date | null;
  updated_time: Date;
}

/** A row of the `versions` table, as pg returns it. */
export interface VersionRow {
  version: number;
  created_time: Date;
  deletion_time: Date | null;
  destroyed: boolean;
  author: string;
  kek_id: number | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
}

/** The columns of a `versions` row that describe the version, without the sealed value. */
export type VersionInfoRow = Pick<
  VersionRow,
  'version' | 'created_time' | 'deletion_time' | 'destroyed' | 'author'
>;

/** A row of the `task_logins` table, as pg returns it. */
export interface TaskLoginRow {
  framework_id: string;
  task_id: string;
  accessor: string;
  login_time: Date;
  ended_time: Date | null;
}

/** A row of the `tokens` table, as pg returns it. */
export interface TokenRow {
  accessor: string;
  hash: string;
  policies: string[];
  created_time: Date;
  expire_time: Date | null;
  meta: Record<string, string>;
  parent_accessor: string | null;
  ttl_seconds: number;
  max_ttl_seconds: number;
  uses_remaining: number | null;
  renewable: boolean;
}

/**
 * The SQL of the PostgreSQL store, by purpose. Values are always bound as parameters, so no
 * SQL is built from values at run time. Statements ending in FOR UPDATE lock the rows they
 * return until the transaction ends, so that another replica's transaction on the same
 * secret or token waits instead of interleaving its check with ours.
 */
export const SQL = {
  // A secret's row is the lock that every write to the secret takes. Inserting it first
  // gives a new path a row to lock too, so two replicas writing `cas=0` queue on it.
  ensureSecret: `INSERT INTO secrets (path, created_time, updated_time) VALUES ($1, $2, $2)
    ON CONFLICT (path) DO NOTHING`,
  lockSecret: 'SELECT * FROM secrets WHERE path = $1 FOR UPDATE',
  selectSecret: 'SELECT * FROM secrets WHERE path = $1',
  recordWrite: `UPDATE secrets SET current_version = $1, oldest_version = $2, updated_time = $3
    WHERE path = $4`,
  patchSecret: `UPDATE secrets SET max_versions = coalesce($1, max_versions),
    cas_required = coalesce($2, cas_required), custom_metadata = coalesce($3, custom_metadata),
    updated_time = $4 WHERE path = $5`,
  deleteSecret: 'DELETE FROM secrets WHERE path = $1',
  listAll: 'SELECT path FROM secrets',
  // Every path that starts with a prefix ending in '/' sorts between that prefix and the
  // same prefix ending in '0', the next byte, in the "C" collation of the column. This
  // range uses the primary key, and unlike LIKE it treats '%' and '_' as plain characters.
  listRange: 'SELECT path FROM secrets WHERE path >= $1 AND path < $2',
  // Without a version number ($2 null), the version that the `current` label points at.
  selectVersion: `SELECT versions.* FROM versions JOIN secrets ON secrets.path = versions.path
    WHERE versions.path = $1 AND versions.version = coalesce($2::integer, secrets.current_stage)`,
  selectVersions: `SELECT version, created_time, deletion_time, destroyed, author
    FROM versions WHERE path = $1 ORDER BY version`,
  insertVersion: `INSERT INTO versions
    (path, version, created_time, author, kek_id, wrapped_key, ciphertext)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`,
  // Versions that a stage label points at are kept whatever their age.
  trimVersions: `DELETE FROM versions WHERE path = $1 AND version < $2 AND NOT EXISTS
    (SELECT 1 FROM secrets WHERE secrets.path = $1 AND versions.version IN
    (coalesce(current_stage, 0), coalesce(previous_stage, 0), coalesce(pending_stage, 0)))`,
  oldestVersion: 'SELECT min(version) AS version FROM versions WHERE path = $1',
  setStages: `UPDATE secrets SET current_stage = $1, previous_stage = $2, pending_stage = $3,
    updated_time = $4 WHERE path = $5`,
  versionExists: 'SELECT 1 AS found FROM versions WHERE path = $1 AND version = $2',
  saveRotation: `INSERT INTO rotations (path, policy, state, next_run_time, updated_time)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (path) DO UPDATE SET policy = excluded.policy,
    state = excluded.state, next_run_time = excluded.next_run_time,
    updated_time = excluded.updated_time`,
  readRotation: 'SELECT * FROM rotations WHERE path = $1',
  listRotations: 'SELECT * FROM rotations ORDER BY path',
  deleteRotation: 'DELETE FROM rotations WHERE path = $1',
  softDelete: `UPDATE versions SET deletion_time = $1
    WHERE path = $2 AND version = ANY ($3::integer[]) AND deletion_time IS NULL
    AND NOT destroyed`,
  undelete: `UPDATE versions SET deletion_time = NULL
    WHERE path = $1 AND version = ANY ($2::integer[]) AND NOT destroyed`,
  destroy: `UPDATE versions SET destroyed = true, kek_id = NULL, wrapped_key = NULL,
    ciphertext = NULL WHERE path = $1 AND version = ANY ($2::integer[])`,
  saveToken: `INSERT INTO tokens
    (accessor, hash, policies, created_time, expire_time, meta, parent_accessor, ttl_seconds,
    max_ttl_seconds, uses_remaining, renewable)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (accessor) DO UPDATE SET hash = excluded.hash, policies = excluded.policies,
    created_time = excluded.created_time, expire_time = excluded.expire_time,
    meta = excluded.meta, parent_accessor = excluded.parent_accessor,
    ttl_seconds = excluded.ttl_seconds, max_ttl_seconds = excluded.max_ttl_seconds,
    uses_remaining = excluded.uses_remaining, renewable = excluded.renewable`,
  tokenByHash: 'SELECT * FROM tokens WHERE hash = $1',
  lockTokenByHash: 'SELECT * FROM tokens WHERE hash = $1 FOR UPDATE',
  tokenByAccessor: 'SELECT * FROM tokens WHERE accessor = $1',
  lockTokenByAccessor: 'SELECT * FROM tokens WHERE accessor = $1 FOR UPDATE',
  tokenTree: `WITH RECURSIVE tree (accessor, depth) AS (
      SELECT accessor, 0 FROM tokens WHERE accessor = $1
      UNION
      SELECT tokens.accessor, tree.depth + 1 FROM tokens
      JOIN tree ON tokens.parent_accessor = tree.accessor
    ) SELECT accessor FROM tree ORDER BY depth, accessor`,
  deleteTokens: 'DELETE FROM tokens WHERE accessor = ANY ($1::text[])',
  consumeTokenUse: 'UPDATE tokens SET uses_remaining = uses_remaining - 1 WHERE accessor = $1',
  setTokenExpiry: 'UPDATE tokens SET expire_time = $1 WHERE accessor = $2',
  countTokens: 'SELECT count(*)::integer AS count FROM tokens',
  listTokenAccessors: 'SELECT accessor FROM tokens ORDER BY accessor',
  savePolicy: `INSERT INTO policies (name, policy, created_time, updated_time)
    VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO UPDATE SET policy = excluded.policy,
    updated_time = excluded.updated_time`,
  readPolicy: 'SELECT policy FROM policies WHERE name = $1',
  listPolicies: 'SELECT name FROM policies ORDER BY name',
  deletePolicy: 'DELETE FROM policies WHERE name = $1',
  saveLoginRole: `INSERT INTO login_roles (name, role, created_time, updated_time)
    VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO UPDATE SET role = excluded.role,
    updated_time = excluded.updated_time`,
  readLoginRole: 'SELECT role FROM login_roles WHERE name = $1',
  listLoginRoles: 'SELECT name FROM login_roles ORDER BY name',
  deleteLoginRole: 'DELETE FROM login_roles WHERE name = $1',
  claimTaskLogin: `INSERT INTO task_logins
    (framework_id, task_id, accessor, login_time, ended_time) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (framework_id, task_id) DO NOTHING`,
  findTaskLogin: 'SELECT * FROM task_logins WHERE framework_id = $1 AND task_id = $2',
  listRunningTaskLogins: `SELECT * FROM task_logins WHERE ended_time IS NULL
    ORDER BY login_time, framework_id, task_id`,
  endTaskLogin: `UPDATE task_logins SET ended_time = $1
    WHERE framework_id = $2 AND task_id = $3 AND ended_time IS NULL`,
  deleteTaskLoginsBefore: 'DELETE FROM task_logins WHERE login_time < $1',
} as const;

/** Converts a `versions` row to the VersionInfo it describes. */
export function toVersionInfo(row: VersionInfoRow): VersionInfo {
  return {
    version: row.version,
    createdTime: row.created_time.toISOString(),
    deletionTime: toIso(row.deletion_time),
    destroyed: row.destroyed,
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
    sealed: { kekId: row.kek_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
  };
}

/** Converts a `secrets` row and its version rows to SecretMetadata. */
export function toMetadata(row: SecretRow, versions: VersionInfoRow[]): SecretMetadata {
  return {
    path: row.path,
    createdTime: row.created_time.toISOString(),
    updatedTime: row.updated_time.toISOString(),
    currentVersion: row.current_version,
    oldestVersion: row.oldest_version,
    maxVersions: row.max_versions,
    casRequired: row.cas_required,
    customMetadata: row.custom_metadata,
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
    nextRunTime: toIso(row.next_run_time),
    updatedTime: row.updated_time.toISOString(),
  };
}

/** Converts a `tokens` row to a TokenRecord. */
export function toTokenRecord(row: TokenRow): TokenRecord {
  return {
    accessor: row.accessor,
    hash: row.hash,
    policies: row.policies,
    createdTime: row.created_time.toISOString(),
    expireTime: toIso(row.expire_time),
    meta: row.meta,
    parentAccessor: row.parent_accessor,
    ttlSeconds: row.ttl_seconds,
    maxTtlSeconds: row.max_ttl_seconds,
    usesRemaining: row.uses_remaining,
    renewable: row.renewable,
  };
}

/** Converts a `task_logins` row to the record it holds. */
export function toTaskLogin(row: TaskLoginRow): TaskLoginRecord {
  return {
    frameworkId: row.framework_id,
    taskId: row.task_id,
    accessor: row.accessor,
    loginTime: row.login_time.toISOString(),
    endedTime: toIso(row.ended_time),
  };
}

function toIso(time: Date | null): string | null {
  return time === null ? null : time.toISOString();
}
