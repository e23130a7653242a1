import type { DatabaseSync } from 'node:sqlite';
import { TesseraError } from '../errors.ts';
import { checkCas } from './cas.ts';
import { claimTaskLoginRow, runningTaskLoginRows, taskLoginRow } from './sqlite-logins.ts';
import {
  labelNewVersion,
  promoteRow,
  rotationRow,
  rotationRows,
  saveRotationRow,
  setPendingRow,
} from './sqlite-stages.ts';
import {
  prepareStatements,
  type SecretRow,
  type Statements,
  toMetadata,
  toStoredVersion,
  type VersionInfoRow,
  type VersionRow,
} from './sqlite-statements.ts';
import {
  deleteTokenTree,
  saveTokenRow,
  tokenByAccessor,
  tokenByHash,
  updateTokenRow,
  useTokenRow,
} from './sqlite-tokens.ts';
import {
  DEFAULT_MAX_VERSIONS,
  type MetadataPatch,
  type PutRequest,
  type RotationRecord,
  type SecretMetadata,
  type StageLabels,
  type Store,
  type StoredVersion,
  type TaskLoginRecord,
  type TokenPatch,
  type TokenRecord,
  type VersionInfo,
} from './store.ts';

const MEMORY = ':memory:';
const SQLITE_BUSY = 5;

function now(): string {
  return new Date().toISOString();
}

/**
 * The SQLite store on one open connection; `openSqliteStore` configures and migrates the
 * database before it builds one.
 */
export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #file: string;
  readonly #sql: Statements;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(db: DatabaseSync, file: string) {
    this.#db = db;
    this.#file = file;
    this.#sql = prepareStatements(db);
  }

  putVersions(writes: PutRequest[]): Promise<VersionInfo[]> {
    return this.#write(() =>
      writes.map((write, index) => this.#putOne(write, writes.length > 1 ? index : undefined)),
    );
  }

  readVersion(path: string, version?: number): Promise<StoredVersion | undefined> {
    return this.#read(() => {
      const secret = this.#secret(path);
      const number = version ?? secret?.current_stage ?? 0;
      if (secret === undefined || number < 1) {
        return undefined;
      }
      const row = this.#sql.selectVersion.get(path, number) as VersionRow | undefined;
      return row === undefined ? undefined : toStoredVersion(row);
    });
  }

  promoteVersion(path: string, version: number): Promise<StageLabels | undefined> {
    return this.#write(() => promoteRow(this.#sql, path, version, now()));
  }

  setPending(path: string, version: number | null): Promise<StageLabels | undefined> {
    return this.#write(() => setPendingRow(this.#sql, path, version, now()));
  }

  saveRotation(record: RotationRecord): Promise<void> {
    return this.#write(() => saveRotationRow(this.#sql, record, now()));
  }

  readRotation(path: string): Promise<RotationRecord | undefined> {
    return this.#read(() => rotationRow(this.#sql, path));
  }

  listRotations(): Promise<RotationRecord[]> {
    return this.#read(() => rotationRows(this.#sql));
  }

  deleteRotation(path: string): Promise<boolean> {
    return this.#write(() => Number(this.#sql.deleteRotation.run(path).changes) > 0);
  }

  readMetadata(path: string): Promise<SecretMetadata | undefined> {
    return this.#read(() => this.#metadata(path));
  }

  writeMetadata(path: string, patch: MetadataPatch): Promise<SecretMetadata> {
    return this.#write(() => {
      const time = now();
      if (this.#secret(path) === undefined) {
        this.#sql.insertSecret.run(path, time, time);
      }
      const custom = patch.customMetadata && JSON.stringify(patch.customMetadata);
      const casRequired = patch.casRequired === undefined ? null : Number(patch.casRequired);
      this.#sql.patchSecret.run(patch.maxVersions ?? null, casRequired, custom ?? null, time, path);
      return this.#metadata(path) as SecretMetadata;
    });
  }

  list(prefix: string): Promise<string[]> {
    return this.#read(() => {
      const rows =
        prefix === ''
          ? this.#sql.listAll.all()
          : this.#sql.listRange.all(prefix, `${prefix.slice(0, -1)}0`);
      const children = new Set<string>();
      for (const row of rows as { path: string }[]) {
        const rest = row.path.slice(prefix.length);
        const slash = rest.indexOf('/');
        children.add(slash === -1 ? rest : rest.slice(0, slash + 1));
      }
      return [...children].sort(compareUtf8);
    });
  }

  deleteVersions(path: string, versions: number[]): Promise<boolean> {
    return this.#changeVersions(path, () => {
      this.#sql.softDelete.run(now(), path, JSON.stringify(versions));
    });
  }

  undeleteVersions(path: string, versions: number[]): Promise<boolean> {
    return this.#changeVersions(path, () => {
      this.#sql.undelete.run(path, JSON.stringify(versions));
    });
  }

  async destroyVersions(path: string, versions: number[]): Promise<boolean> {
    const found = await this.#changeVersions(path, () => {
      this.#sql.destroy.run(path, JSON.stringify(versions));
    });
    await this.#eraseWal();
    return found;
  }

  async deleteSecret(path: string): Promise<boolean> {
    const found = await this.#write(() => {
      return Number(this.#sql.deleteSecret.run(path).changes) > 0;
    });
    await this.#eraseWal();
    return found;
  }

  saveToken(record: TokenRecord): Promise<void> {
    return this.#write(() => saveTokenRow(this.#sql, record));
  }

  findToken(hash: string): Promise<TokenRecord | undefined> {
    return this.#read(() => tokenByHash(this.#sql, hash));
  }

  findTokenByAccessor(accessor: string): Promise<TokenRecord | undefined> {
    return this.#read(() => tokenByAccessor(this.#sql, accessor));
  }

  deleteToken(accessor: string): Promise<string[]> {
    return this.#write(() => deleteTokenTree(this.#sql, accessor));
  }

  useToken(hash: string): Promise<TokenRecord | undefined> {
    return this.#write(() => useTokenRow(this.#sql, hash));
  }

  updateToken(accessor: string, patch: TokenPatch): Promise<TokenRecord | undefined> {
    return this.#write(() => updateTokenRow(this.#sql, accessor, patch));
  }

  countTokens(): Promise<number> {
    return this.#read(() => Number(this.#sql.countTokens.get()?.count ?? 0));
  }

  listTokenAccessors(): Promise<string[]> {
    return this.#read(() => {
      const rows = this.#sql.listTokenAccessors.all() as { accessor: string }[];
      return rows.map((row) => row.accessor);
    });
  }

  savePolicy(name: string, text: string): Promise<void> {
    return this.#write(() => {
      const time = now();
      this.#sql.savePolicy.run(name, text, time, time);
    });
  }

  readPolicy(name: string): Promise<string | undefined> {
    return this.#read(() => {
      const row = this.#sql.readPolicy.get(name) as { policy: string } | undefined;
      return row?.policy;
    });
  }

  listPolicies(): Promise<string[]> {
    return this.#read(() => {
      const rows = this.#sql.listPolicies.all() as { name: string }[];
      return rows.map((row) => row.name);
    });
  }

  deletePolicy(name: string): Promise<boolean> {
    return this.#write(() => Number(this.#sql.deletePolicy.run(name).changes) > 0);
  }

  saveLoginRole(name: string, text: string): Promise<void> {
    return this.#write(() => {
      const time = now();
      this.#sql.saveLoginRole.run(name, text, time, time);
    });
  }

  readLoginRole(name: string): Promise<string | undefined> {
    return this.#read(() => {
      const row = this.#sql.readLoginRole.get(name) as { role: string } | undefined;
      return row?.role;
    });
  }

  listLoginRoles(): Promise<string[]> {
    return this.#read(() => {
      const rows = this.#sql.listLoginRoles.all() as { name: string }[];
      return rows.map((row) => row.name);
    });
  }

  deleteLoginRole(name: string): Promise<boolean> {
    return this.#write(() => Number(this.#sql.deleteLoginRole.run(name).changes) > 0);
  }

  claimTaskLogin(record: TaskLoginRecord): Promise<boolean> {
    return this.#write(() => claimTaskLoginRow(this.#sql, record));
  }

  findTaskLogin(frameworkId: string, taskId: string): Promise<TaskLoginRecord | undefined> {
    return this.#read(() => taskLoginRow(this.#sql, frameworkId, taskId));
  }

  listRunningTaskLogins(): Promise<TaskLoginRecord[]> {
    return this.#read(() => runningTaskLoginRows(this.#sql));
  }

  endTaskLogin(frameworkId: string, taskId: string, endedTime: string): Promise<boolean> {
    return this.#write(
      () => Number(this.#sql.endTaskLogin.run(endedTime, frameworkId, taskId).changes) > 0,
    );
  }

  deleteTaskLoginsBefore(time: string): Promise<number> {
    return this.#write(() => Number(this.#sql.deleteTaskLoginsBefore.run(time).changes));
  }

  close(): Promise<void> {
    this.#closing ??= this.#serialize(() => {
      this.#closed = true;
      this.#db.close();
    });
    return this.#closing;
  }

  #putOne(write: PutRequest, index: number | undefined): VersionInfo {
    const time = now();
    const secret = this.#secret(write.path);
    checkCas(write, index, secret?.current_version ?? 0, secret?.cas_required === 1);

    const version = (secret?.current_version ?? 0) + 1;
    const sealed = write.seal(version);
    if (secret === undefined) {
      this.#sql.insertSecret.run(write.path, time, time);
    }
    const oldest = secret?.oldest_version || version;
    this.#sql.recordWrite.run(version, oldest, time, write.path);
    this.#sql.insertVersion.run(
      write.path,
      version,
      time,
      write.author,
      sealed.kekId,
      sealed.wrappedKey,
      sealed.ciphertext,
    );
    labelNewVersion(this.#sql, secret, write.path, version, write.stage ?? 'current', time);

    const max = secret?.max_versions || DEFAULT_MAX_VERSIONS;
    if (version - oldest + 1 > max) {
      this.#sql.trimVersions.run(write.path, version - max + 1);
      const kept = this.#sql.oldestVersion.get(write.path)?.version;
      this.#sql.recordWrite.run(version, Number(kept ?? version), time, write.path);
    }
    return {
      version,
      createdTime: time,
      deletionTime: null,
      destroyed: false,
      author: write.author,
    };
  }

  #secret(path: string): SecretRow | undefined {
    return this.#sql.selectSecret.get(path) as SecretRow | undefined;
  }

  #metadata(path: string): SecretMetadata | undefined {
    const secret = this.#secret(path);
    if (secret === undefined) {
      return undefined;
    }
    const versions = this.#sql.selectVersions.all(path) as unknown as VersionInfoRow[];
    return toMetadata(secret, versions);
  }

  #changeVersions(path: string, change: () => void): Promise<boolean> {
    return this.#write(() => {
      if (this.#secret(path) === undefined) {
        return false;
      }
      change();
      return true;
    });
  }

  // A TRUNCATE checkpoint copies the WAL into the database, where secure_delete has zeroed
  // the freed cells, and empties the WAL, so erased ciphertext keeps no copy in either.
  async #eraseWal(): Promise<void> {
    if (this.#file !== MEMORY) {
      // NOTE: while another connection reads the file, the checkpoint stops short without an
      // error. The old frames then stay in the WAL until the next checkpoint.
      await this.#serialize(() => this.#db.exec('PRAGMA wal_checkpoint(TRUNCATE)'));
    }
  }

  #read<T>(work: () => T): Promise<T> {
    return this.#serialize(() => this.#transaction('BEGIN', work));
  }

  #write<T>(work: () => T): Promise<T> {
    return this.#serialize(() => this.#transaction('BEGIN IMMEDIATE', work));
  }

  #transaction<T>(begin: string, work: () => T): T {
    this.#db.exec(begin);
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) {
        this.#db.exec('ROLLBACK');
      }
      throw error;
    }
  }

  // Callers are queued, so that a transaction never starts while another is open on this
  // connection, even once an adapter method awaits between its statements.
  #serialize<T>(work: () => T): Promise<T> {
    const run = (): T => {
      if (this.#closed) {
        throw new TesseraError('INTERNAL', `store ${this.#file} is closed`);
      }
      try {
        return work();
      } catch (error) {
        throw busyError(error, this.#file) ?? error;
      }
    };
    const result = this.#tail.then(run);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

// The extended result codes SQLITE_BUSY_RECOVERY and SQLITE_BUSY_SNAPSHOT share the low byte.
function busyError(error: unknown, file: string): TesseraError | undefined {
  const code = (error as { errcode?: unknown }).errcode;
  if (typeof code !== 'number' || (code & 0xff) !== SQLITE_BUSY) {
    return undefined;
  }
  return new TesseraError(
    'INTERNAL',
    `store ${file} is busy: another process held its lock past the busy timeout; retry, ` +
      `and check that no other program writes to the database`,
    { file },
  );
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
