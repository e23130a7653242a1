import type { SealedValue } from '../crypto/envelope.ts';

/**
 * The number of versions a secret keeps when its `maxVersions` is 0, as in HashiCorp
 * Vault's KV version 2 engine.
 */
export const DEFAULT_MAX_VERSIONS = 10;

/** Metadata of one version of a secret. Times are ISO 8601 strings in UTC. */
export interface VersionInfo {
  version: number;
  createdTime: string;
  /** Set when the version is soft-deleted; undeleting clears it. */
  deletionTime: string | null;
  /** True once the ciphertext is erased; a destroyed version cannot be recovered. */
  destroyed: boolean;
  /** The accessor of the token that wrote the version. */
  author: string;
}

/** Metadata of a secret, with its versions oldest first. */
export interface SecretMetadata {
  path: string;
  createdTime: string;
  updatedTime: string;
  /**
   * The newest version, or 0 when only metadata was written. This is Vault's
   * `current_version`, which check-and-set compares with; the `current` stage label may
   * point at an older version after a rollback or while a rotation is pending.
   */
  currentVersion: number;
  /** The oldest version still kept, or 0 when there is none. */
  oldestVersion: number;
  /** The number of versions kept; 0 means `DEFAULT_MAX_VERSIONS`. */
  maxVersions: number;
  /** When true, every write must pass `cas`. */
  casRequired: boolean;
  /** Free-form labels; not secret, and never encrypted. */
  customMetadata: Record<string, string>;
  versions: VersionInfo[];
  /** The versions that the stage labels point at. */
  stages: StageLabels;
}

/** The stage labels of a secret; each is a version number, or null when unset. */
export interface StageLabels {
  /** The version that reads without a version number return. */
  current: number | null;
  /** The version that was current before the last promotion or rollback. */
  previous: number | null;
  /** A version written by a rotation and not yet promoted. */
  pending: number | null;
}

/** The stage a new version is written at: `current` for plain writes, `pending` for rotations. */
export type WriteStage = 'current' | 'pending';

/**
 * A secret's rotation policy and state as stored. Both are JSON documents validated above
 * the store, which keeps them as text.
 */
export interface RotationRecord {
  path: string;
  policy: string;
  state: string;
  /** When the scheduler runs the rotation next, or null when it is not scheduled. */
  nextRunTime: string | null;
  updatedTime: string;
}

/** A version as stored: its metadata and its sealed fields. */
export interface StoredVersion {
  info: VersionInfo;
  /** The sealed fields, or null when the version is destroyed. */
  sealed: SealedValue | null;
}

/** One write of a new version. */
export interface PutRequest {
  path: string;
  /**
   * Check-and-set as in Vault KV version 2: 0 writes only if the secret has no version,
   * N writes only if the current version is N. Omitted: no check, unless the secret
   * has `casRequired`.
   */
  cas?: number;
  author: string;
  /** `current` when omitted: the new version becomes current and the old current previous. */
  stage?: WriteStage;
  /** Seals the fields for the version number the store assigns. */
  seal: (version: number) => SealedValue;
}

/** Changes to a secret's metadata; an omitted property keeps its value. */
export interface MetadataPatch {
  maxVersions?: number;
  casRequired?: boolean;
  /** Replaces the whole map when given. */
  customMetadata?: Record<string, string>;
}

/**
 * A token as stored: only a hash of the token itself, never the token. Times are ISO 8601
 * strings in UTC.
 */
export interface TokenRecord {
  /** A public id of the token, safe to log. */
  accessor: string;
  /** Hex SHA-256 of the token. */
  hash: string;
  policies: string[];
  createdTime: string;
  /** When the token stops working, or null when it never expires. */
  expireTime: string | null;
  /** The lifetime a renewal grants by default, in seconds; 0 means no expiry. */
  ttlSeconds: number;
  /** The maximum lifetime from `createdTime` in seconds, which renewal never passes; 0: none. */
  maxTtlSeconds: number;
  /** Uses left, or null when unlimited; a stored token always has at least one. */
  usesRemaining: number | null;
  renewable: boolean;
  /** The creator and Mesos task of the token; not secret. */
  meta: Record<string, string>;
  parentAccessor: string | null;
}

/** Changes to a stored token; an omitted property keeps its value. */
export interface TokenPatch {
  expireTime?: string | null;
}

/**
 * The login of a Mesos task: the token it was given, so that the token can end with the
 * task, and a task can log in only once. Times are ISO 8601 strings in UTC.
 */
export interface TaskLoginRecord {
  frameworkId: string;
  taskId: string;
  /** The accessor of the token the login issued. */
  accessor: string;
  loginTime: string;
  /** When the task was seen to end, or null while it may still run. */
  endedTime: string | null;
}

/**
 * Persistence for secrets, tokens and policies. An adapter stores ciphertext and metadata
 * only: sealing and opening happen above it, in `Secrets`. Paths reach it already
 * validated by `parseSecretPath`, and it compares them byte for byte. Every adapter must
 * pass the contract suite in test/store/contract.ts.
 */
export interface Store {
  /**
   * Writes one new version per request, all or nothing in one transaction. Requests run
   * in order, so two requests for one path write two versions. Rejects the whole batch
   * with CAS_MISMATCH when a `cas` does not match, or is missing for a secret with
   * `casRequired`. A version written at stage `current` becomes current, the old current
   * becoming previous; one written at `pending` moves only the pending label. After each
   * insert, versions beyond the secret's `maxVersions` are removed oldest first, except
   * those a stage label points at. Returns the new versions in request order.
   */
  putVersions(writes: PutRequest[]): Promise<VersionInfo[]>;

  /**
   * Reads one version, the one labelled `current` when `version` is omitted. Returns
   * undefined when the secret, or that version, does not exist (including versions already
   * removed by `maxVersions`). Soft-deleted and destroyed versions are returned; check `info`.
   */
  readVersion(path: string, version?: number): Promise<StoredVersion | undefined>;

  /**
   * Points `current` at `version`, which must exist; the old current becomes `previous`
   * (unless it is the same version), and `pending` is cleared when it pointed at `version`.
   * Returns the new labels, or undefined when the secret or the version does not exist.
   */
  promoteVersion(path: string, version: number): Promise<StageLabels | undefined>;

  /**
   * Points `pending` at `version`, or clears it for null. Returns the new labels, or
   * undefined when the secret, or a non-null version, does not exist.
   */
  setPending(path: string, version: number | null): Promise<StageLabels | undefined>;

  /**
   * Inserts or replaces the rotation record of a secret, creating the secret's metadata
   * with no version when it does not exist, as `writeMetadata` does.
   */
  saveRotation(record: RotationRecord): Promise<void>;

  /** Reads a secret's rotation record; undefined when it has none. */
  readRotation(path: string): Promise<RotationRecord | undefined>;

  /** Lists every rotation record, sorted by path. */
  listRotations(): Promise<RotationRecord[]>;

  /** Removes a secret's rotation record; false when it had none. */
  deleteRotation(path: string): Promise<boolean>;

  /** Reads a secret's metadata and version list; undefined when the secret does not exist. */
  readMetadata(path: string): Promise<SecretMetadata | undefined>;

  /**
   * Changes a secret's metadata and returns the result. Creates the secret with no
   * version when it does not exist, as Vault does. A lower `maxVersions` takes effect
   * at the next write.
   */
  writeMetadata(path: string, patch: MetadataPatch): Promise<SecretMetadata>;

  /**
   * Lists the direct children of `prefix` ('' or a path ending in '/') as Vault does, with
   * 'name' for a secret and 'name/' for a folder. The list is sorted by UTF-8 bytes and has
   * no duplicates, but a name may appear both ways. It is empty when nothing is there.
   */
  list(prefix: string): Promise<string[]>;

  /**
   * Soft-deletes versions by setting their deletion time. Versions that do not exist,
   * are destroyed or are already deleted are skipped. Returns false when the secret does
   * not exist.
   */
  deleteVersions(path: string, versions: number[]): Promise<boolean>;

  /** Clears the deletion time of versions that are not destroyed; false when no secret. */
  undeleteVersions(path: string, versions: number[]): Promise<boolean>;

  /**
   * Erases the ciphertext of versions and marks them destroyed, which cannot be undone.
   * Returns false when the secret does not exist.
   */
  destroyVersions(path: string, versions: number[]): Promise<boolean>;

  /** Removes a secret's metadata and every version; false when it does not exist. */
  deleteSecret(path: string): Promise<boolean>;

  /** Inserts a token record, or replaces the one with the same accessor. */
  saveToken(record: TokenRecord): Promise<void>;

  /** Finds a token by the hash of the token; undefined when none matches. */
  findToken(hash: string): Promise<TokenRecord | undefined>;

  /** Finds a token by its accessor; undefined when none matches. */
  findTokenByAccessor(accessor: string): Promise<TokenRecord | undefined>;

  /**
   * Removes a token and, recursively, every token whose parent it is. Returns the
   * accessors removed with the given one first, or an empty list when none has it.
   */
  deleteToken(accessor: string): Promise<string[]>;

  /**
   * Uses a token once, atomically: when `usesRemaining` is not null it is decremented, and
   * a token at its last use is removed with its descendants, as `deleteToken` does. Returns
   * the record as it was before this use, or undefined when no token has the hash. Expiry
   * is not checked here: the caller does that.
   */
  useToken(hash: string): Promise<TokenRecord | undefined>;

  /** Changes a token and returns the result; undefined when no token has the accessor. */
  updateToken(accessor: string, patch: TokenPatch): Promise<TokenRecord | undefined>;

  /** Counts the stored tokens, expired ones not yet removed included. */
  countTokens(): Promise<number>;

  /** Lists the accessors of every stored token, sorted. */
  listTokenAccessors(): Promise<string[]>;

  /** Inserts a policy document (JSON text, validated above the store), or replaces it. */
  savePolicy(name: string, text: string): Promise<void>;

  /** Reads a policy's JSON text; undefined when there is no policy of that name. */
  readPolicy(name: string): Promise<string | undefined>;

  /** Lists the names of the stored policies, sorted. */
  listPolicies(): Promise<string[]>;

  /** Removes a policy; false when there was none of that name. */
  deletePolicy(name: string): Promise<boolean>;

  /** Inserts a login role (JSON text, validated above the store), or replaces it. */
  saveLoginRole(name: string, text: string): Promise<void>;

  /** Reads a login role's JSON text; undefined when there is no role of that name. */
  readLoginRole(name: string): Promise<string | undefined>;

  /** Lists the names of the stored login roles, sorted. */
  listLoginRoles(): Promise<string[]>;

  /** Removes a login role; false when there was none of that name. */
  deleteLoginRole(name: string): Promise<boolean>;

  /**
   * Inserts a task's login unless that task (framework and task id) has one already, in
   * one atomic step, so that of two replicas only one lets a task log in. Returns false,
   * and changes nothing, when the task has logged in before.
   */
  claimTaskLogin(record: TaskLoginRecord): Promise<boolean>;

  /** Finds the login of a task; undefined when the task has none. */
  findTaskLogin(frameworkId: string, taskId: string): Promise<TaskLoginRecord | undefined>;

  /** Lists the logins of tasks not yet seen to end, oldest login first. */
  listRunningTaskLogins(): Promise<TaskLoginRecord[]>;

  /** Records that a task ended; false when it has no login or its end was recorded. */
  endTaskLogin(frameworkId: string, taskId: string, endedTime: string): Promise<boolean>;

  /** Removes the logins made before `time`, whatever their state; returns how many. */
  deleteTaskLoginsBefore(time: string): Promise<number>;

  /** Closes the store; calls made afterwards reject with INTERNAL. */
  close(): Promise<void>;
}
