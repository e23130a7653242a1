import type { Pool } from 'pg';
import { TesseraError } from '../errors.ts';
import { createSession, type Session, storeError, type Target } from './postgres-session.ts';
import {
  promoteRow,
  rotationRow,
  rotationRows,
  saveRotationRow,
  setPendingRow,
} from './postgres-stages.ts';
import {
  type SecretRow,
  SQL,
  type TaskLoginRow,
  toStoredVersion,
  toTaskLogin,
  type VersionRow,
} from './postgres-statements.ts';
import {
  deleteTokenTree,
  saveTokenRow,
  tokenByAccessor,
  tokenByHash,
  updateTokenRow,
  useTokenRow,
} from './postgres-tokens.ts';
import { lockSecret, putOne, readSecretMetadata } from './postgres-versions.ts';
import type {
  MetadataPatch,
  PutRequest,
  RotationRecord,
  SecretMetadata,
  StageLabels,
  Store,
  StoredVersion,
  TaskLoginRecord,
  TokenPatch,
  TokenRecord,
  VersionInfo,
} from './store.ts';

const WRITE = 'BEGIN';
// One snapshot for a read of several statements, such as a secret and its version list.
const READ = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';
// PostgreSQL aborts one of two transactions that wait on each other's row locks with this
// SQLSTATE; the aborted one has changed nothing, so it is run again.
const DEADLOCK_DETECTED = '40P01';
const WRITE_ATTEMPTS = 3;

function now(): string {
  return new Date().toISOString();
}

/**
 * The PostgreSQL store on a connection pool; `openPostgresStore` migrates the database
 * before it builds one. Every write that checks a row before changing it locks that row
 * (SELECT ... FOR UPDATE), so writes from several Tessera replicas never interleave.
 */
export class PostgresStore implements Store {
  readonly #pool: Pool;
  readonly #target: Target;
  readonly #anyConnection: Session;
  // Uses of one token from this process queue here, so they are granted in call order.
  readonly #tokenQueues = new Map<string, Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(pool: Pool, target: Target) {
    this.#pool = pool;
    this.#target = target;
    this.#anyConnection = createSession(pool, target);
  }

  putVersions(writes: PutRequest[]): Promise<VersionInfo[]> {
    return this.#write(async (db) => {
      const paths = [...new Set(writes.map((write) => write.path))].sort(compareUtf8);
      // Every transaction locks its rows in path order, so two batches cannot wait on each
      // other in a cycle.
      for (const path of paths) {
        await lockSecret(db, path, now());
      }
      const infos: VersionInfo[] = [];
      for (const [index, write] of writes.entries()) {
        infos.push(await putOne(db, write, writes.length > 1 ? index : undefined));
      }
      return infos;
    });
  }

  readVersion(path: string, version?: number): Promise<StoredVersion | undefined> {
    return this.#query(async (db) => {
      const [row] = await db.rows<VersionRow>(SQL.selectVersion, [path, version ?? null]);
      return row === undefined ? undefined : toStoredVersion(row);
    });
  }

  promoteVersion(path: string, version: number): Promise<StageLabels | undefined> {
    return this.#write((db) => promoteRow(db, path, version, now()));
  }

  setPending(path: string, version: number | null): Promise<StageLabels | undefined> {
    return this.#write((db) => setPendingRow(db, path, version, now()));
  }

  saveRotation(record: RotationRecord): Promise<void> {
    return this.#write((db) => saveRotationRow(db, record, now()));
  }

  readRotation(path: string): Promise<RotationRecord | undefined> {
    return this.#query((db) => rotationRow(db, path));
  }

  listRotations(): Promise<RotationRecord[]> {
    return this.#query((db) => rotationRows(db));
  }

  async deleteRotation(path: string): Promise<boolean> {
    return (await this.#query((db) => db.run(SQL.deleteRotation, [path]))) > 0;
  }

  readMetadata(path: string): Promise<SecretMetadata | undefined> {
    return this.#transaction(READ, (db) => readSecretMetadata(db, path));
  }

  writeMetadata(path: string, patch: MetadataPatch): Promise<SecretMetadata> {
    return this.#write(async (db) => {
      const time = now();
      await lockSecret(db, path, time);
      const custom = patch.customMetadata && JSON.stringify(patch.customMetadata);
      await db.run(SQL.patchSecret, [
        patch.maxVersions ?? null,
        patch.casRequired ?? null,
        custom ?? null,
        time,
        path,
      ]);
      return (await readSecretMetadata(db, path)) as SecretMetadata;
    });
  }

  list(prefix: string): Promise<string[]> {
    return this.#query(async (db) => {
      const rows =
        prefix === ''
          ? await db.rows<{ path: string }>(SQL.listAll)
          : await db.rows<{ path: string }>(SQL.listRange, [prefix, `${prefix.slice(0, -1)}0`]);
      const children = new Set<string>();
      for (const row of rows) {
        const rest = row.path.slice(prefix.length);
        const slash = rest.indexOf('/');
        children.add(slash === -1 ? rest : rest.slice(0, slash + 1));
      }
      return [...children].sort(compareUtf8);
    });
  }

  deleteVersions(path: string, versions: number[]): Promise<boolean> {
    return this.#changeVersions(path, (db) => db.run(SQL.softDelete, [now(), path, versions]));
  }

  undeleteVersions(path: string, versions: number[]): Promise<boolean> {
    return this.#changeVersions(path, (db) => db.run(SQL.undelete, [path, versions]));
  }

  // NOTE: PostgreSQL keeps the old row version, ciphertext included, until VACUUM reclaims
  // it. WAL archives and base backups keep copies for longer.
  destroyVersions(path: string, versions: number[]): Promise<boolean> {
    return this.#changeVersions(path, (db) => db.run(SQL.destroy, [path, versions]));
  }

  async deleteSecret(path: string): Promise<boolean> {
    return (await this.#write((db) => db.run(SQL.deleteSecret, [path]))) > 0;
  }

  saveToken(record: TokenRecord): Promise<void> {
    return this.#write((db) => saveTokenRow(db, record));
  }

  findToken(hash: string): Promise<TokenRecord | undefined> {
    return this.#query((db) => tokenByHash(db, hash));
  }

  findTokenByAccessor(accessor: string): Promise<TokenRecord | undefined> {
    return this.#query((db) => tokenByAccessor(db, accessor));
  }

  deleteToken(accessor: string): Promise<string[]> {
    return this.#write((db) => deleteTokenTree(db, accessor));
  }

  useToken(hash: string): Promise<TokenRecord | undefined> {
    return this.#inOrder(hash, () => this.#write((db) => useTokenRow(db, hash)));
  }

  updateToken(accessor: string, patch: TokenPatch): Promise<TokenRecord | undefined> {
    return this.#write((db) => updateTokenRow(db, accessor, patch));
  }

  async countTokens(): Promise<number> {
    return this.#query(async (db) => {
      const [row] = await db.rows<{ count: number }>(SQL.countTokens);
      return row?.count ?? 0;
    });
  }

  listTokenAccessors(): Promise<string[]> {
    return this.#query(async (db) => {
      const rows = await db.rows<{ accessor: string }>(SQL.listTokenAccessors);
      return rows.map((row) => row.accessor);
    });
  }

  async savePolicy(name: string, text: string): Promise<void> {
    await this.#query((db) => db.run(SQL.savePolicy, [name, text, now()]));
  }

  readPolicy(name: string): Promise<string | undefined> {
    return this.#query(async (db) => {
      const [row] = await db.rows<{ policy: string }>(SQL.readPolicy, [name]);
      return row?.policy;
    });
  }

  listPolicies(): Promise<string[]> {
    return this.#query(async (db) => {
      const rows = await db.rows<{ name: string }>(SQL.listPolicies);
      return rows.map((row) => row.name);
    });
  }

  async deletePolicy(name: string): Promise<boolean> {
    return (await this.#query((db) => db.run(SQL.deletePolicy, [name]))) > 0;
  }

  async saveLoginRole(name: string, text: string): Promise<void> {
    await this.#query((db) => db.run(SQL.saveLoginRole, [name, text, now()]));
  }

  readLoginRole(name: string): Promise<string | undefined> {
    return this.#query(async (db) => {
      const [row] = await db.rows<{ role: string }>(SQL.readLoginRole, [name]);
      return row?.role;
    });
  }

  listLoginRoles(): Promise<string[]> {
    return this.#query(async (db) => {
      const rows = await db.rows<{ name: string }>(SQL.listLoginRoles);
      return rows.map((row) => row.name);
    });
  }

  async deleteLoginRole(name: string): Promise<boolean> {
    return (await this.#query((db) => db.run(SQL.deleteLoginRole, [name]))) > 0;
  }

  async claimTaskLogin(record: TaskLoginRecord): Promise<boolean> {
    const values = [
      record.frameworkId,
      record.taskId,
      record.accessor,
      record.loginTime,
      record.endedTime,
    ];
    return (await this.#query((db) => db.run(SQL.claimTaskLogin, values))) > 0;
  }

  findTaskLogin(frameworkId: string, taskId: string): Promise<TaskLoginRecord | undefined> {
    return this.#query(async (db) => {
      const [row] = await db.rows<TaskLoginRow>(SQL.findTaskLogin, [frameworkId, taskId]);
      return row === undefined ? undefined : toTaskLogin(row);
    });
  }

  listRunningTaskLogins(): Promise<TaskLoginRecord[]> {
    return this.#query(async (db) =>
      (await db.rows<TaskLoginRow>(SQL.listRunningTaskLogins)).map(toTaskLogin),
    );
  }

  async endTaskLogin(frameworkId: string, taskId: string, endedTime: string): Promise<boolean> {
    const values = [endedTime, frameworkId, taskId];
    return (await this.#query((db) => db.run(SQL.endTaskLogin, values))) > 0;
  }

  deleteTaskLoginsBefore(time: string): Promise<number> {
    return this.#query((db) => db.run(SQL.deleteTaskLoginsBefore, [time]));
  }

  close(): Promise<void> {
    this.#closing ??= this.#pool.end();
    return this.#closing;
  }

  #changeVersions(path: string, change: (db: Session) => Promise<unknown>): Promise<boolean> {
    return this.#write(async (db) => {
      const [secret] = await db.rows<SecretRow>(SQL.lockSecret, [path]);
      if (secret === undefined) {
        return false;
      }
      await change(db);
      return true;
    });
  }

  // A single statement is atomic on its own, so it runs on any pooled connection.
  async #query<T>(work: (db: Session) => Promise<T>): Promise<T> {
    this.#checkOpen();
    return work(this.#anyConnection);
  }

  async #write<T>(work: (db: Session) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transaction(WRITE, work);
      } catch (error) {
        const deadlock = (error as TesseraError).details?.sqlState === DEADLOCK_DETECTED;
        if (!deadlock || attempt >= WRITE_ATTEMPTS) {
          throw error;
        }
      }
    }
  }

  async #transaction<T>(begin: string, work: (db: Session) => Promise<T>): Promise<T> {
    this.#checkOpen();
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw storeError(error, this.#target);
    });
    const db = createSession(client, this.#target);
    let broken: Error | undefined;
    try {
      await db.run(begin);
      const result = await work(db);
      await db.run('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back is closed rather than reused.
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  #inOrder<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tokenQueues.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.catch(() => undefined);
    this.#tokenQueues.set(key, tail);
    tail.then(() => {
      if (this.#tokenQueues.get(key) === tail) this.#tokenQueues.delete(key);
    });
    return result;
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) {
      throw new TesseraError('INTERNAL', `store ${this.#target.where} is closed`);
    }
  }
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
