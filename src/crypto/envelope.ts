import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { TesseraError } from '../errors.ts';
import type { Keyring } from './keyring.ts';

const ALGORITHM = 'aes-256-gcm';
const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const LENGTH_BYTES = 4;

/**
 * One sealed version of a secret. `wrappedKey` is the data key sealed with key-encryption
 * key `kekId`; `ciphertext` is the serialized fields sealed with the data key. Both are
 * packed as IV (12 bytes), then GCM tag (16 bytes), then the encrypted bytes.
 */
export type SealedValue = {
  kekId: number;
  wrappedKey: Buffer;
  ciphertext: Buffer;
};

/** The row a sealed value belongs to; the additional authenticated data binds both. */
export type SealTarget = {
  path: string;
  version: number;
};

/**
 * Builds the additional authenticated data for a path and version:
 * `tessera:v1:<byte length of path>:<path>:<version>`. The length prefix makes the
 * encoding injective, so that no two (path, version) pairs share it even when a path
 * contains ':' or digits.
 */
export function additionalData({ path, version }: SealTarget): Buffer {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new TesseraError('INTERNAL', `version ${version} of secret ${path} is not valid`);
  }
  const pathBytes = Buffer.from(path, 'utf8');
  return Buffer.concat([
    Buffer.from(`tessera:v1:${pathBytes.length}:`, 'utf8'),
    pathBytes,
    Buffer.from(`:${version}`, 'utf8'),
  ]);
}

/**
 * Seals the fields of one version under a fresh random 256-bit data key, which is wrapped
 * with the keyring's current key. The serialized plaintext and the data key are zeroed
 * before this returns; the caller's buffers are left as they are.
 */
export function sealFields(
  keyring: Keyring,
  target: SealTarget,
  fields: Record<string, Buffer>,
): SealedValue {
  const aad = additionalData(target);
  const kek = keyring.current();
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const plaintext = serializeFields(fields);
  try {
    return {
      kekId: kek.id,
      wrappedKey: seal(kek.key, dataKey, aad),
      ciphertext: seal(dataKey, plaintext, aad),
    };
  } finally {
    plaintext.fill(0);
    dataKey.fill(0);
  }
}

/**
 * Opens a sealed version and returns its fields in an object without a prototype. Throws
 * INTERNAL, without any bytes in the message, when the value was sealed for another path
 * or version, was altered, or its key-encryption key is missing from the keyring.
 */
export function openFields(
  keyring: Keyring,
  target: SealTarget,
  sealed: SealedValue,
): Record<string, Buffer> {
  const aad = additionalData(target);
  const kek = keyring.get(sealed.kekId);
  if (kek === undefined) {
    throw new TesseraError(
      'INTERNAL',
      `secret ${target.path} version ${target.version} is sealed with key-encryption key ` +
        `${sealed.kekId}, which the keyring does not contain; load the keyring that has it`,
      { path: target.path, version: target.version, kekId: sealed.kekId },
    );
  }

  const dataKey = open(kek.key, sealed.wrappedKey, aad, target);
  let plaintext: Buffer | undefined;
  try {
    if (dataKey.length !== DATA_KEY_BYTES) {
      throw decryptFailed(target);
    }
    plaintext = open(dataKey, sealed.ciphertext, aad, target);
    return deserializeFields(plaintext, target);
  } finally {
    plaintext?.fill(0);
    dataKey.fill(0);
  }
}

function seal(key: KeyObject | Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), encrypted]);
}

function open(key: KeyObject | Buffer, packed: Buffer, aad: Buffer, target: SealTarget): Buffer {
  if (packed.length < IV_BYTES + TAG_BYTES) {
    throw decryptFailed(target);
  }
  const iv = packed.subarray(0, IV_BYTES);
  const tag = packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);

  const head = decipher.update(packed.subarray(IV_BYTES + TAG_BYTES));
  try {
    const tail = decipher.final();
    const plaintext = Buffer.alloc(head.length + tail.length);
    head.copy(plaintext);
    tail.copy(plaintext, head.length);
    tail.fill(0);
    return plaintext;
  } catch {
    throw decryptFailed(target);
  } finally {
    head.fill(0);
  }
}

function decryptFailed({ path, version }: SealTarget): TesseraError {
  return new TesseraError(
    'INTERNAL',
    `secret ${path} version ${version} failed to decrypt: the ciphertext or its key does not ` +
      `match this path and version`,
    { path, version },
  );
}

// Layout: field count, then per field the name length, name (UTF-8), value length, value.
// Lengths are 32-bit big-endian, so values of any bytes round-trip exactly.
function serializeFields(fields: Record<string, Buffer>): Buffer {
  const entries = Object.entries(fields).map(([name, value]) => {
    if (!name.isWellFormed()) {
      throw new TesseraError('INVALID_ARGUMENT', 'a field name is not valid UTF-8');
    }
    return { name: Buffer.from(name, 'utf8'), value };
  });

  let size = LENGTH_BYTES;
  for (const entry of entries) {
    size += 2 * LENGTH_BYTES + entry.name.length + entry.value.length;
  }

  // Buffer.alloc never hands out the shared pool, so zeroing this touches nothing else.
  const out = Buffer.alloc(size);
  let offset = out.writeUInt32BE(entries.length, 0);
  for (const entry of entries) {
    offset = out.writeUInt32BE(entry.name.length, offset);
    offset += entry.name.copy(out, offset);
    offset = out.writeUInt32BE(entry.value.length, offset);
    offset += Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.length).copy(
      out,
      offset,
    );
  }
  return out;
}

function deserializeFields(plaintext: Buffer, target: SealTarget): Record<string, Buffer> {
  // No prototype, so that a lookup such as fields.constructor finds no inherited value
  // and a field named __proto__ is an ordinary key.
  const fields: Record<string, Buffer> = Object.create(null);
  const values: Buffer[] = [];
  let offset = 0;
  const take = (length: number): Buffer => {
    if (offset + length > plaintext.length) {
      throw decryptFailed(target);
    }
    const slice = plaintext.subarray(offset, offset + length);
    offset += length;
    return slice;
  };
  const takeLength = (): number => take(LENGTH_BYTES).readUInt32BE(0);

  try {
    const count = takeLength();
    for (let index = 0; index < count; index++) {
      const name = take(takeLength()).toString('utf8');
      const bytes = take(takeLength());
      // Buffer.alloc never hands out the shared pool, so the caller may zero the copy.
      const copy = Buffer.alloc(bytes.length);
      bytes.copy(copy);
      values.push(copy);
      fields[name] = copy;
    }
    if (offset !== plaintext.length) {
      throw decryptFailed(target);
    }
    return fields;
  } catch (error) {
    for (const value of values) {
      value.fill(0);
    }
    throw error;
  }
}
