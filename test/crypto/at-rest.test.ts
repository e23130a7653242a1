import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { Keyring } from '../../src/crypto/keyring.ts';
import { isTesseraError } from '../../src/errors.ts';
import { Secrets } from '../../src/store/secrets.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';

let directory: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tessera-at-rest-'));
});

after(async () => {
  await rm(directory, { recursive: true, force: true });
});

// Every form in which a leaked value would be recognisable in a file.
function encodings(canary: string): Map<string, Buffer> {
  const bytes = Buffer.from(canary);
  return new Map([
    ['raw', bytes],
    ['utf16le', Buffer.from(canary, 'utf16le')],
    ['base64', Buffer.from(bytes.toString('base64'))],
    ['base64url', Buffer.from(bytes.toString('base64url'))],
    ['hex', Buffer.from(bytes.toString('hex'))],
    ['HEX', Buffer.from(bytes.toString('hex').toUpperCase())],
  ]);
}

async function readIfPresent(file: string): Promise<Buffer | undefined> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      return undefined;
    }
    throw error;
  });
}

async function assertAbsent(file: string, canary: string): Promise<number> {
  let filesRead = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    const bytes = await readIfPresent(`${file}${suffix}`);
    if (bytes === undefined) {
      continue;
    }
    filesRead += 1;
    for (const [form, needle] of encodings(canary)) {
      assert.equal(bytes.indexOf(needle), -1, `${form} canary found in ${file}${suffix}`);
    }
  }
  return filesRead;
}

describe('values at rest', () => {
  it('keep a canary out of the database, WAL and shm files', async () => {
    const file = join(directory, 'canary.db');
    const canary = `CANARY-${randomUUID()}`;
    const fieldName = `field-${randomUUID()}`;
    const store = await openSqliteStore(file);
    const secrets = new Secrets(store, Keyring.generate());

    await secrets.put('app/db', { [fieldName]: Buffer.from(canary) }, { author: 'a' });
    await secrets.put('app/db', { value: Buffer.from(`${canary}-v2`) }, { author: 'a' });
    await secrets.putMany([{ path: 'app/batch', fields: { value: Buffer.from(canary) } }], 'a');
    const read = await secrets.read('app/db', 1);
    assert.equal(read.fields[fieldName]?.toString(), canary);

    const openFiles = await assertAbsent(file, canary);
    assert.equal(openFiles, 3, 'expected the database, -wal and -shm files while open');
    assert.equal(await assertAbsent(file, fieldName), 3);
    await store.close();
    assert.ok((await assertAbsent(file, canary)) >= 1);
  });

  describe('a row moved in the database file', () => {
    const keyring = Keyring.generate();

    async function seed(): Promise<string> {
      const file = join(directory, `moved-${randomUUID()}.db`);
      const store = await openSqliteStore(file);
      const secrets = new Secrets(store, keyring);
      await secrets.put('app/one', { value: Buffer.from('one-v1') }, { author: 'a' });
      await secrets.put('app/one', { value: Buffer.from('one-v2') }, { author: 'a' });
      await secrets.put('app/two', { value: Buffer.from('two-v1') }, { author: 'a' });
      await store.close();
      return file;
    }

    // Copies the sealed columns of one row over another, as anyone able to write the file
    // could.
    function copyRow(file: string, from: [string, number], to: [string, number]): void {
      const db = new DatabaseSync(file);
      try {
        const source = db
          .prepare(
            'SELECT kek_id, wrapped_key, ciphertext FROM versions WHERE path = ? AND version = ?',
          )
          .get(...from);
        assert.ok(source, `row ${from.join(' v')} exists`);
        const changed = db
          .prepare(
            'UPDATE versions SET kek_id = ?, wrapped_key = ?, ciphertext = ? WHERE path = ? AND version = ?',
          )
          .run(source.kek_id ?? null, source.wrapped_key ?? null, source.ciphertext ?? null, ...to);
        assert.equal(changed.changes, 1);
      } finally {
        db.close();
      }
    }

    async function readValue(file: string, path: string, version: number): Promise<string> {
      const store = await openSqliteStore(file);
      try {
        const read = await new Secrets(store, keyring).read(path, version);
        return read.fields.value?.toString() ?? '';
      } finally {
        await store.close();
      }
    }

    async function assertReadFails(file: string, path: string, version: number): Promise<void> {
      await assert.rejects(readValue(file, path, version), (error) => {
        assert.ok(isTesseraError(error, 'INTERNAL'));
        assert.match(
          error.message,
          new RegExp(`secret ${path} version ${version} failed to decrypt`),
        );
        assert.doesNotMatch(error.message, /one-v|two-v/);
        return true;
      });
    }

    it('fails to open at another path', async () => {
      const file = await seed();
      copyRow(file, ['app/one', 1], ['app/two', 1]);
      await assertReadFails(file, 'app/two', 1);
      assert.equal(await readValue(file, 'app/one', 1), 'one-v1');
    });

    it('fails to open at another version', async () => {
      const file = await seed();
      copyRow(file, ['app/one', 1], ['app/one', 2]);
      await assertReadFails(file, 'app/one', 2);
      assert.equal(await readValue(file, 'app/one', 1), 'one-v1');
    });

    it('opens when copied back to its own row', async () => {
      const file = await seed();
      copyRow(file, ['app/one', 1], ['app/one', 1]);
      assert.equal(await readValue(file, 'app/one', 1), 'one-v1');
    });
  });
});
