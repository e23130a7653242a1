import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import pg from 'pg';
import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import { maskDatabaseUrl, openPostgresStore } from '../../src/store/postgres.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres-migrations.ts';
import type { PutRequest, Store } from '../../src/store/store.ts';
import { type PostgresCluster, psqlAdmin, startPostgres } from '../helpers/postgres.ts';
import { storeContract } from './contract.ts';

// A planted password with characters that URLs percent-encode, to prove that no message
// prints it in either form.
const PASSWORD = 'planted-Pw/9@x%1';
const WRONG_PASSWORD = 'planted-wrong-Pw7';

let cluster: PostgresCluster;
let url: string;
let admin: pg.Pool;

function databaseUrl(password: string, port = cluster.port, database = 'tessera'): string {
  return `postgres://tessera:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

before(async () => {
  cluster = await startPostgres();
  await psqlAdmin(cluster, `CREATE ROLE tessera LOGIN PASSWORD '${PASSWORD}'`);
  await psqlAdmin(cluster, 'CREATE DATABASE tessera OWNER tessera');
  url = databaseUrl(PASSWORD);
  admin = new pg.Pool({ connectionString: url, max: 1 });
});

after(async () => {
  await admin?.end();
  await cluster?.stop();
});

async function openEmpty(): Promise<Store> {
  const store = await openPostgresStore(url);
  await admin.query(
    'TRUNCATE secrets, versions, rotations, tokens, policies, login_roles, task_logins',
  );
  return store;
}

function assertNoPassword(text: string, password = PASSWORD): void {
  assert.equal(text.includes(password), false, `password in: ${text}`);
  assert.equal(text.includes(encodeURIComponent(password)), false, `encoded password in: ${text}`);
}

async function openError(target: string): Promise<TesseraError> {
  const error = await openPostgresStore(target).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (failure: unknown) => failure,
  );
  assert.ok(isTesseraError(error, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${error}`);
  return error;
}

const sealed = { kekId: 1, wrappedKey: Buffer.from('w'), ciphertext: Buffer.from('c') };

function write(path: string, cas?: number): PutRequest {
  return { path, cas, author: 'accessor-1', seal: () => sealed };
}

storeContract('postgres', openEmpty);

describe('openPostgresStore', () => {
  it('records migrations in schema_migrations', async () => {
    await (await openEmpty()).close();
    const { rows } = await admin.query('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((row) => row.version),
      POSTGRES_MIGRATIONS.map((migration) => migration.version),
    );
  });

  it('stores sealed values as bytea', async () => {
    const { rows } = await admin.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_name = 'versions' AND column_name IN ('ciphertext', 'wrapped_key')
       ORDER BY column_name`,
    );
    assert.deepEqual(
      rows.map((row) => row.data_type),
      ['bytea', 'bytea'],
    );
  });

  it('rejects a schema newer than the code', async () => {
    await admin.query(`INSERT INTO schema_migrations VALUES (999, 'future', now())`);
    try {
      const error = await openError(url);
      assert.match(error.message, /schema version 999/);
    } finally {
      await admin.query('DELETE FROM schema_migrations WHERE version = 999');
    }
  });

  it('masks the password of a wrong login', async () => {
    const error = await openError(databaseUrl(WRONG_PASSWORD));
    assert.match(error.message, /password authentication failed/);
    assert.match(error.message, /127\.0\.0\.1/);
    assertNoPassword(error.message, WRONG_PASSWORD);
    assertNoPassword(JSON.stringify(error.details), WRONG_PASSWORD);
  });

  it('masks the password when nothing listens', async () => {
    const error = await openError(databaseUrl(PASSWORD, 1));
    assert.match(error.message, /ECONNREFUSED/);
    assert.match(error.message, /--database-url/);
    assertNoPassword(error.message);
    assertNoPassword(JSON.stringify(error.details));
  });

  it('does not echo an invalid URL', async () => {
    const error = await openError(`tessera:${PASSWORD}@127.0.0.1`);
    assertNoPassword(error.message);
    const wrongScheme = await openError(databaseUrl(PASSWORD).replace('postgres:', 'mysql:'));
    assert.match(wrongScheme.message, /does not start with postgres:\/\//);
    assertNoPassword(wrongScheme.message);
  });

  it('masks password and password parameter', () => {
    const masked = maskDatabaseUrl(`${url}?sslmode=disable&password=${PASSWORD}`);
    assertNoPassword(masked);
    assert.match(masked, /^postgres:\/\/tessera:\*\*\*\*@127\.0\.0\.1:\d+\/tessera\?/);
    assert.match(masked, /password=\*\*\*\*/);
    assert.match(masked, /sslmode=disable/);
  });

  it('keeps the password out of inspect and errors', async () => {
    const store = await openEmpty();
    assertNoPassword(inspect(store, { depth: 5, showHidden: true }));
    await store.close();
    const error = await store.list('').catch((failure: unknown) => failure);
    assert.ok(isTesseraError(error, 'INTERNAL'));
    assertNoPassword(error.message);
  });
});

// Two stores on one database stand for two Tessera replicas, each with its own pool.
describe('two replicas on one database', () => {
  it('let exactly one racing cas write win', async () => {
    const [first, second] = [await openEmpty(), await openPostgresStore(url)];
    try {
      const attempts = Array.from({ length: 10 }, (_, index) =>
        (index % 2 === 0 ? first : second).putVersions([write('race', 0)]).then(
          () => 'written',
          (error: unknown) => (isTesseraError(error, 'CAS_MISMATCH') ? 'rejected' : 'other'),
        ),
      );
      const outcomes = await Promise.all(attempts);
      assert.equal(outcomes.filter((outcome) => outcome === 'written').length, 1);
      assert.equal(outcomes.filter((outcome) => outcome === 'rejected').length, 9);
      assert.equal((await first.readMetadata('race'))?.currentVersion, 1);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('grant each token use once', async () => {
    const [first, second] = [await openEmpty(), await openPostgresStore(url)];
    try {
      await first.saveToken({
        accessor: 'acc-1',
        hash: 'hash-1',
        policies: ['root'],
        createdTime: '2024-01-02T03:04:05.000Z',
        expireTime: null,
        meta: {},
        parentAccessor: null,
        ttlSeconds: 0,
        maxTtlSeconds: 0,
        usesRemaining: 5,
        renewable: false,
      });
      const uses = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          (index % 2 === 0 ? first : second).useToken('hash-1'),
        ),
      );
      const granted = uses.filter((record) => record !== undefined);
      assert.equal(granted.length, 5);
      assert.deepEqual(granted.map((record) => record?.usesRemaining).toSorted(), [1, 2, 3, 4, 5]);
      assert.equal(await second.findToken('hash-1'), undefined);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('write crossing batches without deadlock', async () => {
    const [first, second] = [await openEmpty(), await openPostgresStore(url)];
    try {
      const batches = Array.from({ length: 10 }, (_, index) =>
        index % 2 === 0
          ? first.putVersions([write('x'), write('y')])
          : second.putVersions([write('y'), write('x')]),
      );
      await Promise.all(batches);
      assert.equal((await first.readMetadata('x'))?.currentVersion, 10);
      assert.equal((await first.readMetadata('y'))?.currentVersion, 10);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
