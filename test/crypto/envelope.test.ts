import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { additionalData, openFields, sealFields } from '../../src/crypto/envelope.ts';
import { Keyring } from '../../src/crypto/keyring.ts';
import { isTesseraError } from '../../src/errors.ts';

const TARGET = { path: 'db/password', version: 3 };
const PLAINTEXT = 'CANARY-envelope-plaintext';

function fields(): Record<string, Buffer> {
  return { value: Buffer.from(PLAINTEXT), raw: Buffer.from([0, 1, 254, 255]) };
}

function isDecryptFailure(path: string, version: number) {
  return (error: unknown): boolean => {
    assert.ok(isTesseraError(error, 'INTERNAL'));
    assert.equal(
      error.message,
      `secret ${path} version ${version} failed to decrypt: the ciphertext or its key does ` +
        'not match this path and version',
    );
    assert.doesNotMatch(JSON.stringify(error.details), /CANARY/);
    return true;
  };
}

function flipByte(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe('sealFields and openFields', () => {
  it('round-trips fields', () => {
    const keyring = Keyring.generate();
    const opened = openFields(keyring, TARGET, sealFields(keyring, TARGET, fields()));
    assert.equal(opened.value?.toString(), PLAINTEXT);
    assert.ok(opened.raw?.equals(Buffer.from([0, 1, 254, 255])));
  });

  it('packs IV, tag and data key as documented', () => {
    const sealed = sealFields(Keyring.generate(), TARGET, fields());
    assert.equal(sealed.kekId, 1);
    assert.equal(sealed.wrappedKey.length, 12 + 16 + 32);
    assert.ok(sealed.ciphertext.length >= 12 + 16);
    assert.equal(sealed.ciphertext.indexOf(PLAINTEXT), -1);
  });

  it('uses a fresh data key and IV per seal', () => {
    const keyring = Keyring.generate();
    const first = sealFields(keyring, TARGET, fields());
    const second = sealFields(keyring, TARGET, fields());
    assert.notDeepEqual(first.wrappedKey, second.wrappedKey);
    assert.notDeepEqual(first.ciphertext, second.ciphertext);
  });

  it('leaves the caller’s buffers intact', () => {
    const input = fields();
    sealFields(Keyring.generate(), TARGET, input);
    assert.equal(input.value?.toString(), PLAINTEXT);
  });

  it('fails to open under another path', () => {
    const keyring = Keyring.generate();
    const sealed = sealFields(keyring, TARGET, fields());
    const other = { path: 'db/other', version: 3 };
    assert.throws(() => openFields(keyring, other, sealed), isDecryptFailure('db/other', 3));
  });

  it('fails to open under another version', () => {
    const keyring = Keyring.generate();
    const sealed = sealFields(keyring, TARGET, fields());
    const other = { path: TARGET.path, version: 4 };
    assert.throws(() => openFields(keyring, other, sealed), isDecryptFailure(TARGET.path, 4));
  });

  it('fails to open with a swapped data key', () => {
    const keyring = Keyring.generate();
    const sealed = sealFields(keyring, TARGET, fields());
    const foreign = sealFields(keyring, TARGET, fields());
    const mixed = { ...sealed, wrappedKey: foreign.wrappedKey };
    assert.throws(() => openFields(keyring, TARGET, mixed), isDecryptFailure(TARGET.path, 3));
  });

  it('fails to open altered bytes', () => {
    const keyring = Keyring.generate();
    const sealed = sealFields(keyring, TARGET, fields());
    const cases = [
      { ...sealed, ciphertext: flipByte(sealed.ciphertext, sealed.ciphertext.length - 1) },
      { ...sealed, ciphertext: flipByte(sealed.ciphertext, 0) },
      { ...sealed, ciphertext: flipByte(sealed.ciphertext, 20) },
      { ...sealed, wrappedKey: flipByte(sealed.wrappedKey, 40) },
      { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 27) },
      { ...sealed, wrappedKey: Buffer.alloc(0) },
    ];
    for (const altered of cases) {
      assert.throws(() => openFields(keyring, TARGET, altered), isDecryptFailure(TARGET.path, 3));
    }
  });

  it('fails to open under another keyring', () => {
    const sealed = sealFields(Keyring.generate(), TARGET, fields());
    assert.throws(
      () => openFields(Keyring.generate(), TARGET, sealed),
      isDecryptFailure(TARGET.path, 3),
    );
  });

  it('names a key id the keyring lacks', () => {
    const keyring = Keyring.generate();
    keyring.rotate();
    const sealed = sealFields(keyring, TARGET, fields());
    assert.throws(
      () => openFields(Keyring.generate(), TARGET, sealed),
      (error) => {
        assert.ok(isTesseraError(error, 'INTERNAL'));
        assert.match(error.message, /key-encryption key 2, which the keyring does not contain/);
        return true;
      },
    );
  });

  it('seals new values with the newest key', () => {
    const keyring = Keyring.generate();
    const before = sealFields(keyring, TARGET, fields());
    keyring.rotate();
    const after = sealFields(keyring, TARGET, fields());
    assert.equal(before.kekId, 1);
    assert.equal(after.kekId, 2);
    assert.equal(openFields(keyring, TARGET, before).value?.toString(), PLAINTEXT);
  });

  it('round-trips empty values, empty maps and odd names', () => {
    const keyring = Keyring.generate();
    const odd = Object.fromEntries([
      ['', Buffer.alloc(0)],
      ['__proto__', Buffer.from('p')],
      ['名前', Buffer.from([0])],
    ]);
    const opened = openFields(keyring, TARGET, sealFields(keyring, TARGET, odd));
    assert.deepEqual(Object.keys(opened), ['', '__proto__', '名前']);
    assert.equal(Object.getOwnPropertyDescriptor(opened, '__proto__')?.value?.toString(), 'p');
    assert.equal(opened['']?.length, 0);
    const empty = openFields(keyring, TARGET, sealFields(keyring, TARGET, {}));
    assert.deepEqual(Object.keys(empty), []);
  });
});

describe('additionalData', () => {
  it('differs for pairs that concatenate alike', () => {
    const pairs = [
      { path: 'a', version: 12 },
      { path: 'a:1', version: 2 },
      { path: 'a1', version: 2 },
      { path: 'a:12', version: 1 },
      { path: '1:a', version: 12 },
    ];
    const encoded = new Set(pairs.map((pair) => additionalData(pair).toString('hex')));
    assert.equal(encoded.size, pairs.length);
  });

  it('prefixes the byte length of the path', () => {
    const aad = additionalData({ path: 'é/x', version: 7 });
    assert.ok(aad.equals(Buffer.from('tessera:v1:4:é/x:7')));
  });

  it('rejects a version that is not a positive integer', () => {
    for (const version of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => additionalData({ path: 'a', version }),
        (error) => isTesseraError(error, 'INTERNAL'),
      );
    }
  });
});
