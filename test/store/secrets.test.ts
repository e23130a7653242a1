import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Keyring } from '../../src/crypto/keyring.ts';
import { type ErrorCode, isTesseraError, type TesseraError } from '../../src/errors.ts';
import { Secrets, type SecretWrite } from '../../src/store/secrets.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/store.ts';

const AUTHOR = 'accessor-1';

let store: Store;
let keyring: Keyring;
let secrets: Secrets;

beforeEach(async () => {
  store = await openSqliteStore(':memory:');
  keyring = Keyring.generate();
  secrets = new Secrets(store, keyring);
});

afterEach(async () => {
  await store.close();
});

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<TesseraError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isTesseraError(error, code)) {
    assert.fail(`expected ${code}, got ${String(error)}`);
  }
  return error;
}

function value(text: string): Record<string, Buffer> {
  return { value: Buffer.from(text) };
}

describe('Secrets put and read', () => {
  it('round-trips fields', async () => {
    const info = await secrets.put('/db/password', value('hunter2'), { author: AUTHOR });
    const read = await secrets.read('db/password');
    assert.equal(info.version, 1);
    assert.equal(read.path, 'db/password');
    assert.equal(read.info.version, 1);
    assert.equal(read.info.author, AUTHOR);
    assert.deepEqual(Object.keys(read.fields), ['value']);
    assert.equal(read.fields.value?.toString(), 'hunter2');
  });

  it('round-trips bytes that are not UTF-8', async () => {
    const binary = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x00, 0xed, 0xa0, 0x80]);
    await secrets.put('tls/der', { cert: binary }, { author: AUTHOR });
    const read = await secrets.read('tls/der');
    assert.ok(read.fields.cert?.equals(binary));
  });

  it('round-trips an empty value', async () => {
    await secrets.put(
      'empty',
      { value: Buffer.alloc(0), other: Buffer.from('x') },
      { author: AUTHOR },
    );
    const read = await secrets.read('empty');
    assert.equal(read.fields.value?.length, 0);
    assert.equal(read.fields.other?.toString(), 'x');
  });

  it('round-trips a version without fields', async () => {
    await secrets.put('none', {}, { author: AUTHOR });
    assert.deepEqual(Object.keys((await secrets.read('none')).fields), []);
  });

  it('round-trips a 1 MiB value', async () => {
    const big = randomBytes(1024 * 1024);
    await secrets.put('big/bundle', { value: big }, { author: AUTHOR });
    const read = await secrets.read('big/bundle');
    assert.ok(read.fields.value?.equals(big));
  });

  it('keeps field names such as __proto__ as plain keys', async () => {
    const fields = Object.fromEntries([
      ['__proto__', Buffer.from('p')],
      ['constructor', Buffer.from('c')],
    ]);
    await secrets.put('odd', fields, { author: AUTHOR });
    const read = await secrets.read('odd');
    assert.equal(Object.hasOwn(read.fields, '__proto__'), true);
    assert.equal(Object.getOwnPropertyDescriptor(read.fields, '__proto__')?.value?.toString(), 'p');
    assert.equal(read.fields.constructor?.toString(), 'c');
    assert.equal(read.fields.toString, undefined);
  });

  it('reads a given version and version 0 as current', async () => {
    await secrets.put('a', value('one'), { author: AUTHOR });
    await secrets.put('a', value('two'), { author: AUTHOR, cas: 1 });
    assert.equal((await secrets.read('a', 1)).fields.value?.toString(), 'one');
    assert.equal((await secrets.read('a', 0)).fields.value?.toString(), 'two');
  });

  it('reads old versions after a keyring rotation', async () => {
    await secrets.put('a', value('before'), { author: AUTHOR });
    keyring.rotate();
    await secrets.put('a', value('after'), { author: AUTHOR });
    assert.equal((await store.readVersion('a', 1))?.sealed?.kekId, 1);
    assert.equal((await store.readVersion('a', 2))?.sealed?.kekId, 2);
    assert.equal((await secrets.read('a', 1)).fields.value?.toString(), 'before');
    assert.equal((await secrets.read('a', 2)).fields.value?.toString(), 'after');
  });

  it('writes a batch atomically', async () => {
    await secrets.put('a', value('a1'), { author: AUTHOR });
    const fresh: SecretWrite = { path: 'b', fields: value('b1') };
    const stale: SecretWrite = { path: 'a', fields: value('a2'), cas: 5 };
    const batch = [fresh, stale];
    const error = await failure(secrets.putMany(batch, AUTHOR), 'CAS_MISMATCH');
    assert.equal(error.details?.index, 1);
    await failure(secrets.read('b'), 'NOT_FOUND');
    const infos = await secrets.putMany([fresh, { ...stale, cas: 1 }], AUTHOR);
    assert.deepEqual(
      infos.map((info) => info.version),
      [1, 2],
    );
  });
});

describe('Secrets read errors', () => {
  it('reports a missing secret', async () => {
    const error = await failure(secrets.read('nope'), 'NOT_FOUND');
    assert.match(error.message, /secret nope not found/);
  });

  it('reports a missing version with the kept range', async () => {
    await secrets.put('a', value('x'), { author: AUTHOR });
    const error = await failure(secrets.read('a', 4), 'NOT_FOUND');
    assert.match(error.message, /no version 4; it keeps versions 1 to 1/);
  });

  it('reports a secret with metadata only as not found', async () => {
    await secrets.writeMetadata('meta-only', { casRequired: true });
    await failure(secrets.read('meta-only'), 'NOT_FOUND');
  });

  it('reports a deleted version with its metadata', async () => {
    await secrets.put('a', value('one'), { author: AUTHOR });
    await secrets.put('a', value('two'), { author: AUTHOR });
    await secrets.deleteLatest('a');
    const error = await failure(secrets.read('a'), 'VERSION_DELETED');
    const details = error.details as {
      path: string;
      version: number;
      info: { deletionTime: string };
    };
    assert.equal(details.path, 'a');
    assert.equal(details.version, 2);
    assert.ok(details.info.deletionTime);
    assert.equal((await secrets.read('a', 1)).fields.value?.toString(), 'one');
  });

  it('reads a version again after undelete', async () => {
    await secrets.put('a', value('one'), { author: AUTHOR });
    await secrets.deleteVersions('a', [1]);
    await secrets.undeleteVersions('a', [1]);
    assert.equal((await secrets.read('a')).fields.value?.toString(), 'one');
  });

  it('reports a destroyed version', async () => {
    await secrets.put('a', value('one'), { author: AUTHOR });
    await secrets.destroyVersions('a', [1]);
    const error = await failure(secrets.read('a'), 'VERSION_DESTROYED');
    assert.equal(error.details?.version, 1);
    await secrets.undeleteVersions('a', [1]);
    await failure(secrets.read('a'), 'VERSION_DESTROYED');
  });

  it('never puts a value in an error', async () => {
    await secrets.put('a', value('CANARY-value-7f3a'), { author: AUTHOR });
    await secrets.destroyVersions('a', [1]);
    const errors = await Promise.all([
      failure(secrets.read('a'), 'VERSION_DESTROYED'),
      failure(
        secrets.put('a', value('CANARY-value-7f3a'), { author: AUTHOR, cas: 9 }),
        'CAS_MISMATCH',
      ),
    ]);
    for (const error of errors) {
      assert.doesNotMatch(`${error.message} ${JSON.stringify(error.details)}`, /CANARY/);
    }
  });
});

describe('Secrets input checks', () => {
  const invalid: [string, Record<string, Buffer>][] = [
    ['an empty field name', { '': Buffer.from('x') }],
    ['a 257-byte field name', { ['n'.repeat(257)]: Buffer.from('x') }],
    [
      '65 fields',
      Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, Buffer.from('x')])),
    ],
    ['a string value', { value: 'text' as unknown as Buffer }],
    ['a NUL in a field name', { 'a\u0000': Buffer.from('x') }],
    ['a C1 control in a field name', { 'a\u009b': Buffer.from('x') }],
    ['a bidi control in a field name', { 'a\u202eb': Buffer.from('x') }],
  ];
  for (const [name, fields] of invalid) {
    it(`rejects ${name}`, async () => {
      await failure(secrets.put('a', fields, { author: AUTHOR }), 'INVALID_ARGUMENT');
      await failure(secrets.read('a'), 'NOT_FOUND');
    });
  }

  it('accepts 64 fields with 256-byte names', async () => {
    const fields = Object.fromEntries(
      Array.from({ length: 64 }, (_, i) => [`${i}`.padStart(256, 'n'), Buffer.from([i])]),
    );
    await secrets.put('wide', fields, { author: AUTHOR });
    assert.equal(Object.keys((await secrets.read('wide')).fields).length, 64);
  });

  it('does not quote a field name', async () => {
    const fields = { ['SECRET-in-name'.repeat(30)]: Buffer.from('x') };
    const error = await failure(secrets.put('a', fields, { author: AUTHOR }), 'INVALID_ARGUMENT');
    assert.doesNotMatch(error.message, /SECRET-in-name/);
  });

  it('rejects an invalid path', async () => {
    await failure(secrets.put('a//b', value('x'), { author: AUTHOR }), 'INVALID_PATH');
    await failure(secrets.read('../x'), 'INVALID_PATH');
  });

  it('rejects a negative cas and a bad version', async () => {
    await failure(secrets.put('a', value('x'), { author: AUTHOR, cas: -1 }), 'INVALID_ARGUMENT');
    await failure(secrets.read('a', 1.5), 'INVALID_ARGUMENT');
    await failure(secrets.deleteVersions('a', []), 'INVALID_ARGUMENT');
  });

  it('rejects a bad metadata patch', async () => {
    await failure(secrets.writeMetadata('a', { maxVersions: -1 }), 'INVALID_ARGUMENT');
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    await failure(secrets.writeMetadata('a', { customMetadata: many }), 'INVALID_ARGUMENT');
    const long = { key: 'v'.repeat(513) };
    await failure(secrets.writeMetadata('a', { customMetadata: long }), 'INVALID_ARGUMENT');
    await failure(secrets.metadata('a'), 'NOT_FOUND');
  });
});

describe('Secrets missing paths', () => {
  it('throws NOT_FOUND naming the path', async () => {
    const calls = [
      () => secrets.metadata('gone/x'),
      () => secrets.deleteLatest('gone/x'),
      () => secrets.deleteVersions('gone/x', [1]),
      () => secrets.undeleteVersions('gone/x', [1]),
      () => secrets.destroyVersions('gone/x', [1]),
      () => secrets.deleteAll('gone/x'),
    ];
    for (const call of calls) {
      const error = await failure(call(), 'NOT_FOUND');
      assert.equal(error.details?.path, 'gone/x');
    }
  });

  it('lists children and rejects an empty folder', async () => {
    await secrets.put('app/db', value('x'), { author: AUTHOR });
    await secrets.put('app/api/key', value('y'), { author: AUTHOR });
    assert.deepEqual(await secrets.list('/app'), ['api/', 'db']);
    assert.deepEqual(await secrets.list(''), ['app/']);
    await failure(secrets.list('other/'), 'NOT_FOUND');
  });

  it('deletes a secret with all versions', async () => {
    await secrets.put('a', value('x'), { author: AUTHOR });
    await secrets.deleteAll('/a');
    await failure(secrets.metadata('a'), 'NOT_FOUND');
  });
});
