import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { isTesseraError } from '../../src/errors.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { storeContract } from './contract.ts';

let directory: string;
let fileCount = 0;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tessera-sqlite-'));
});

after(async () => {
  await rm(directory, { recursive: true, force: true });
});

const sealedStandIn = { kekId: 1, wrappedKey: Buffer.from('w'), ciphertext: Buffer.from('c') };

function newFile(): string {
  fileCount += 1;
  return join(directory, `store-${fileCount}.db`);
}

storeContract('sqlite :memory:', () => openSqliteStore(':memory:'));
storeContract('sqlite file', () => openSqliteStore(newFile()));

describe('openSqliteStore', () => {
  it('creates the file with mode 0600', async () => {
    const file = newFile();
    const store = await openSqliteStore(file);
    await store.close();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('uses WAL mode and records migrations', async () => {
    const file = newFile();
    const store = await openSqliteStore(file);
    await store.close();
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
      const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(
        rows.map((row) => row.version),
        SQLITE_MIGRATIONS.map((migration) => migration.version),
      );
    } finally {
      db.close();
    }
  });

  it('keeps data across reopening', async () => {
    const file = newFile();
    const first = await openSqliteStore(file);
    await first.writeMetadata('kept', { maxVersions: 3 });
    await first.close();
    const second = await openSqliteStore(file);
    try {
      assert.equal((await second.readMetadata('kept'))?.maxVersions, 3);
    } finally {
      await second.close();
    }
  });

  it('rejects a schema newer than the code', async () => {
    const file = newFile();
    await (await openSqliteStore(file)).close();
    const db = new DatabaseSync(file);
    db.prepare('INSERT INTO schema_migrations VALUES (999, ?, ?)').run('future', 'now');
    db.close();
    await assert.rejects(openSqliteStore(file), (error) => {
      assert.ok(isTesseraError(error, 'CONFIG_INVALID'));
      assert.match(error.message, /schema version 999/);
      return true;
    });
  });

  it('rejects a file in a missing directory', async () => {
    const file = join(directory, 'missing', 'store.db');
    await assert.rejects(openSqliteStore(file), (error) => {
      assert.ok(isTesseraError(error, 'CONFIG_INVALID'));
      assert.match(error.message, /check that its directory exists/);
      return true;
    });
  });
});

describe('a lock held by another process', () => {
  it('fails after the busy timeout', async () => {
    const file = newFile();
    const store = await openSqliteStore(file, { busyTimeoutMs: 50 });
    const other = new DatabaseSync(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      const write = store.putVersions([{ path: 'a', author: 'a', seal: () => sealedStandIn }]);
      await assert.rejects(write, (error) => {
        assert.ok(isTesseraError(error, 'INTERNAL'));
        assert.match(error.message, /is busy/);
        return true;
      });
      assert.ok(Date.now() - started < 5000, 'waited for the default timeout instead');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const [info] = await store.putVersions([{ path: 'a', author: 'a', seal: () => sealedStandIn }]);
    assert.equal(info?.version, 1);
    await store.close();
  });
});

describe('destroyVersions on a file', () => {
  it('leaves no copy of the ciphertext', async () => {
    const file = newFile();
    const store = await openSqliteStore(file);
    const marker = Buffer.from(`ciphertext-marker-${'x'.repeat(5000)}`);
    const sealed = { kekId: 1, wrappedKey: Buffer.from('wrapped-marker'), ciphertext: marker };
    await store.putVersions([{ path: 'gone', author: 'a', seal: () => sealed }]);
    await store.putVersions([{ path: 'small', author: 'a', seal: () => sealed }]);
    await store.destroyVersions('gone', [1]);
    await store.deleteSecret('small');

    for (const suffix of ['', '-wal']) {
      const bytes = await readFile(`${file}${suffix}`).catch(() => Buffer.alloc(0));
      assert.equal(bytes.indexOf(marker.subarray(0, 40)), -1, `marker found in ${suffix || 'db'}`);
      assert.equal(bytes.indexOf('wrapped-marker'), -1, `wrapped key found in ${suffix || 'db'}`);
    }
    await store.close();
  });
});
