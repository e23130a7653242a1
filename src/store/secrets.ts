import { openFields, sealFields } from '../crypto/envelope.ts';
import { type FingerprintValue, valueFingerprints } from '../crypto/fingerprint.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { TesseraError } from '../errors.ts';
import { parseListPrefix, parseSecretPath } from './path.ts';
import { checkFields, checkPatch, checkVersion } from './secrets-input.ts';
import type {
  MetadataPatch,
  PutRequest,
  SecretMetadata,
  StageLabels,
  Store,
  VersionInfo,
} from './store.ts';

/** One write of a batch given to `Secrets.putMany`. */
export interface SecretWrite {
  path: string;
  fields: Record<string, Buffer>;
  cas?: number;
}

/** A version read and opened: its metadata and its fields. */
export interface SecretRead {
  path: string;
  info: VersionInfo;
  fields: Record<string, Buffer>;
}

/**
 * What happened to a version; `deleted` and `destroyed` of a whole secret name its current
 * version. `staged` is a pending version that reads do not serve yet; `promoted` and
 * `rolled-back` moved the current label, so reads now serve `version`.
 */
export const SECRET_CHANGE_KINDS = [
  'written',
  'deleted',
  'destroyed',
  'undeleted',
  'staged',
  'promoted',
  'rolled-back',
] as const;

/** One of `SECRET_CHANGE_KINDS`. */
export type SecretChangeKind = (typeof SECRET_CHANGE_KINDS)[number];

/** A change of a secret's versions, sent to listeners after it is stored. Never a value. */
export interface SecretChange {
  path: string;
  version: number;
  kind: SecretChangeKind;
}

/** Receives each change after it is stored. */
export type SecretChangeListener = (change: SecretChange) => void;

/**
 * Secrets as the server uses them: validates paths and input, seals fields before they
 * reach the store and opens them after, and turns a missing secret into NOT_FOUND.
 * Paths may be passed raw; each is checked with `parseSecretPath`.
 */
export class Secrets {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #listeners = new Set<SecretChangeListener>();
  #fingerprint: FingerprintValue | undefined;

  constructor(store: Store, keyring: Keyring) {
    this.#store = store;
    this.#keyring = keyring;
  }

  /**
   * Returns a keyed fingerprint of one field's value, which logs may show in place of a
   * version where a backend keeps none (see `valueFingerprints`).
   */
  fingerprint(path: string, field: string, bytes: Buffer): string {
    this.#fingerprint ??= valueFingerprints(this.#keyring);
    return this.#fingerprint(path, field, bytes);
  }

  /**
   * Adds a listener for changes of any secret and returns the function that removes it.
   * Listeners run after the store has committed the change; one that throws does not
   * undo it or stop the others.
   */
  onChange(listener: SecretChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes a new version of one secret; see `putMany` for the rules. */
  async put(
    path: string,
    fields: Record<string, Buffer>,
    options: { cas?: number; author: string },
  ): Promise<VersionInfo> {
    const [info] = await this.putMany([{ path, fields, cas: options.cas }], options.author);
    if (info === undefined) {
      throw new TesseraError('INTERNAL', `store returned no version for secret ${path}`);
    }
    return info;
  }

  /**
   * Writes a version at the `pending` stage, which reads without a version number do not
   * return until `promote` moves `current` to it. Emits `staged`.
   */
  async putPending(
    rawPath: string,
    fields: Record<string, Buffer>,
    author: string,
  ): Promise<VersionInfo> {
    const request = { ...this.#putRequest({ path: rawPath, fields }, 0, author), stage: 'pending' };
    const [info] = await this.#store.putVersions([request as PutRequest]);
    if (info === undefined) {
      throw new TesseraError('INTERNAL', `store returned no version for secret ${request.path}`);
    }
    this.#emit({ path: request.path, version: info.version, kind: 'staged' });
    return info;
  }

  /**
   * Moves `current` to `version` (the pending version when omitted); the old current
   * becomes `previous`. Emits `promoted`. Throws NOT_FOUND when the secret, the version,
   * or (without a version) a pending version does not exist.
   */
  async promote(rawPath: string, version?: number): Promise<StageLabels> {
    const path = parseSecretPath(rawPath);
    const metadata = await this.metadata(path);
    const target = version ?? metadata.stages.pending;
    if (target === null) {
      throw new TesseraError(
        'NOT_FOUND',
        `secret ${path} has no pending version to promote; give --version N or rotate it first`,
        { path },
      );
    }
    return this.#moveCurrent(path, target, 'promoted');
  }

  /**
   * Makes a kept version current again; the old current becomes `previous`. Emits
   * `rolled-back`. Throws NOT_FOUND, VERSION_DELETED or VERSION_DESTROYED.
   */
  async rollback(rawPath: string, version: number): Promise<StageLabels> {
    const path = parseSecretPath(rawPath);
    checkVersion(version, 'version');
    return this.#moveCurrent(path, version, 'rolled-back');
  }

  /** Clears the pending label without touching the version it pointed at. Throws NOT_FOUND. */
  async clearPending(rawPath: string): Promise<StageLabels> {
    const path = parseSecretPath(rawPath);
    const labels = await this.#store.setPending(path, null);
    if (labels === undefined) throw secretNotFound(path);
    return labels;
  }

  /**
   * Writes one new version per entry, all or nothing. Each version gets its own data key.
   * Throws INVALID_PATH or INVALID_ARGUMENT before anything is written, and CAS_MISMATCH
   * (writing nothing) when a check-and-set fails.
   */
  async putMany(writes: SecretWrite[], author: string): Promise<VersionInfo[]> {
    if (typeof author !== 'string' || author === '') {
      throw new TesseraError('INVALID_ARGUMENT', 'author must be a non-empty token accessor');
    }
    const requests = writes.map((write, index) => this.#putRequest(write, index, author));
    const infos = await this.#store.putVersions(requests);
    for (const [index, info] of infos.entries()) {
      const path = requests[index]?.path;
      if (path !== undefined) this.#emit({ path, version: info.version, kind: 'written' });
    }
    return infos;
  }

  /**
   * Reads and opens a version, the one labelled `current` when `version` is omitted or 0
   * (as in Vault). Throws NOT_FOUND when the secret or version does not exist, and
   * VERSION_DELETED or VERSION_DESTROYED with details `{path, version, info}`.
   */
  async read(rawPath: string, version?: number): Promise<SecretRead> {
    const path = parseSecretPath(rawPath);
    const requested = version === 0 ? undefined : version;
    if (requested !== undefined) {
      checkVersion(requested, 'version');
    }

    const stored = await this.#store.readVersion(path, requested);
    if (stored === undefined) {
      throw await this.#versionNotFound(path, requested);
    }
    const { info, sealed } = stored;
    const details = { path, version: info.version, info };
    if (info.destroyed || sealed === null) {
      throw new TesseraError(
        'VERSION_DESTROYED',
        `secret ${path} version ${info.version} is destroyed and cannot be recovered; ` +
          `read another version or write a new one`,
        details,
      );
    }
    if (info.deletionTime !== null) {
      throw new TesseraError(
        'VERSION_DELETED',
        `secret ${path} version ${info.version} is deleted; undelete it to read it again`,
        details,
      );
    }

    const fields = openFields(this.#keyring, { path, version: info.version }, sealed);
    return { path, info, fields };
  }

  /** Returns a secret's metadata and version list; throws NOT_FOUND. */
  async metadata(rawPath: string): Promise<SecretMetadata> {
    const path = parseSecretPath(rawPath);
    const metadata = await this.#store.readMetadata(path);
    if (metadata === undefined) {
      throw secretNotFound(path);
    }
    return metadata;
  }

  /**
   * Changes a secret's metadata, creating metadata without versions when the secret does
   * not exist (as Vault does). Throws INVALID_ARGUMENT for a bad patch.
   */
  async writeMetadata(rawPath: string, patch: MetadataPatch): Promise<SecretMetadata> {
    const path = parseSecretPath(rawPath);
    checkPatch(patch, path);
    return this.#store.writeMetadata(path, patch);
  }

  /** Lists the direct children of a folder ('name' or 'name/'); throws NOT_FOUND when empty. */
  async list(rawPrefix: string): Promise<string[]> {
    const prefix = parseListPrefix(rawPrefix);
    const keys = await this.#store.list(prefix);
    if (keys.length === 0) {
      const where = prefix === '' ? 'the root' : `folder ${prefix}`;
      throw new TesseraError('NOT_FOUND', `no secrets found under ${where}`, { path: prefix });
    }
    return keys;
  }

  /** Soft-deletes the version labelled current; throws NOT_FOUND when there is none. */
  async deleteLatest(rawPath: string): Promise<void> {
    const path = parseSecretPath(rawPath);
    const metadata = await this.#store.readMetadata(path);
    const current = metadata?.stages.current ?? null;
    if (current === null) {
      throw secretNotFound(path);
    }
    await this.#store.deleteVersions(path, [current]);
    this.#emit({ path, version: current, kind: 'deleted' });
  }

  /** Soft-deletes versions; versions that do not exist are skipped. Throws NOT_FOUND. */
  async deleteVersions(rawPath: string, versions: number[]): Promise<void> {
    await this.#changeVersions(rawPath, versions, 'deleted', (path, list) =>
      this.#store.deleteVersions(path, list),
    );
  }

  /** Restores soft-deleted versions that are not destroyed. Throws NOT_FOUND. */
  async undeleteVersions(rawPath: string, versions: number[]): Promise<void> {
    await this.#changeVersions(rawPath, versions, 'undeleted', (path, list) =>
      this.#store.undeleteVersions(path, list),
    );
  }

  /** Erases the ciphertext of versions for good. Throws NOT_FOUND. */
  async destroyVersions(rawPath: string, versions: number[]): Promise<void> {
    await this.#changeVersions(rawPath, versions, 'destroyed', (path, list) =>
      this.#store.destroyVersions(path, list),
    );
  }

  /** Removes a secret's metadata and all its versions. Throws NOT_FOUND. */
  async deleteAll(rawPath: string): Promise<void> {
    const path = parseSecretPath(rawPath);
    const metadata = await this.#store.readMetadata(path);
    if (!(await this.#store.deleteSecret(path))) {
      throw secretNotFound(path);
    }
    this.#emit({ path, version: metadata?.currentVersion ?? 0, kind: 'destroyed' });
  }

  // Reading the version first rejects a deleted or destroyed one with its usual error.
  async #moveCurrent(path: string, version: number, kind: SecretChangeKind): Promise<StageLabels> {
    checkVersion(version, 'version');
    await this.read(path, version);
    const labels = await this.#store.promoteVersion(path, version);
    if (labels === undefined) throw await this.#versionNotFound(path, version);
    this.#emit({ path, version, kind });
    return labels;
  }

  #emit(change: SecretChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not turn a stored change into a failed request.
      }
    }
  }

  #putRequest(write: SecretWrite, index: number, author: string): PutRequest {
    const path = parseSecretPath(write.path);
    checkFields(write.fields, path);
    if (write.cas !== undefined && (!Number.isSafeInteger(write.cas) || write.cas < 0)) {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `cas of write ${index} (secret ${path}) must be a whole number of 0 or more`,
        { path, index },
      );
    }
    // A snapshot, so that the fields validated here are the ones sealed later.
    const fields = Object.fromEntries(Object.entries(write.fields));
    const seal = (version: number) => sealFields(this.#keyring, { path, version }, fields);
    return { path, cas: write.cas, author, seal };
  }

  async #changeVersions(
    rawPath: string,
    versions: number[],
    kind: SecretChangeKind,
    change: (path: string, versions: number[]) => Promise<boolean>,
  ): Promise<void> {
    const path = parseSecretPath(rawPath);
    if (!Array.isArray(versions) || versions.length === 0) {
      throw new TesseraError('INVALID_ARGUMENT', `give at least one version of secret ${path}`, {
        path,
      });
    }
    for (const [index, version] of versions.entries()) {
      checkVersion(version, `versions[${index}]`);
    }
    if (!(await change(path, versions))) {
      throw secretNotFound(path);
    }
    for (const version of new Set(versions)) this.#emit({ path, version, kind });
  }

  async #versionNotFound(path: string, version: number | undefined): Promise<TesseraError> {
    const metadata = await this.#store.readMetadata(path);
    if (metadata === undefined || version === undefined) {
      return secretNotFound(path);
    }
    const range =
      metadata.currentVersion === 0
        ? 'it has no versions'
        : `it keeps versions ${metadata.oldestVersion} to ${metadata.currentVersion}`;
    return new TesseraError('NOT_FOUND', `secret ${path} has no version ${version}; ${range}`, {
      path,
      version,
    });
  }
}

function secretNotFound(path: string): TesseraError {
  return new TesseraError(
    'NOT_FOUND',
    `secret ${path} not found; check the path, which is compared byte for byte`,
    { path },
  );
}
