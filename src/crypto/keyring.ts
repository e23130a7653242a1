import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { TesseraError } from '../errors.ts';

/** The length of a key-encryption key in bytes (AES-256). */
export const KEY_BYTES = 32;

// Standard base64 of exactly 32 bytes: 43 characters, then one '=' of padding.
const KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** One key-encryption key and its id, which sealed values record. */
export interface KeyEntry {
  id: number;
  key: KeyObject;
}

interface StoredKey {
  key: KeyObject;
  created: string;
}

const keyringFileSchema = z.strictObject({
  version: z.literal(1),
  keys: z
    .array(
      z.strictObject({
        id: z.int().positive(),
        key: z.string(),
        created: z.iso.datetime({ offset: true }),
      }),
    )
    .min(1),
});

/**
 * Versioned 256-bit key-encryption keys. New data keys are wrapped with the newest key;
 * older keys stay so that values sealed before a rotation still open. The keys live in a
 * private field, and `toJSON` and `util.inspect` print only a placeholder.
 */
export class Keyring {
  readonly #keys = new Map<number, StoredKey>();

  private constructor() {}

  /** Creates a keyring with one random key, id 1. */
  static generate(): Keyring {
    return Keyring.fromKey(randomBytes(KEY_BYTES));
  }

  /** Creates a keyring whose only key, id 1, is `bytes`; zeroes `bytes` afterwards. */
  static fromKey(bytes: Buffer, created: string = new Date().toISOString()): Keyring {
    if (bytes.length !== KEY_BYTES) {
      bytes.fill(0);
      throw new TesseraError(
        'CONFIG_INVALID',
        `a key-encryption key must be ${KEY_BYTES} bytes, not ${bytes.length}`,
      );
    }
    const keyring = new Keyring();
    keyring.#add(1, bytes, created);
    return keyring;
  }

  /**
   * Parses the JSON form written by `serialize`. `source` names where the text came from
   * (a file name or an environment variable) for error messages, which never quote the text.
   */
  static parse(text: string, source: string): Keyring {
    const document = parseJson(text, source);
    const result = keyringFileSchema.safeParse(document);
    if (!result.success) {
      const problems = result.error.issues.map((issue) => {
        const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
        return `${where}: ${issue.message}`;
      });
      throw invalid(source, problems.join('; '));
    }

    const keyring = new Keyring();
    for (const [index, entry] of result.data.keys.entries()) {
      if (keyring.#keys.has(entry.id)) {
        throw invalid(source, `keys.${index}.id: key id ${entry.id} appears twice`);
      }
      keyring.#add(entry.id, decodeKey(entry.key, `${source} keys.${index}.key`), entry.created);
    }
    return keyring;
  }

  /** Returns the newest key, the one that new values are sealed with. */
  current(): KeyEntry {
    const id = Math.max(...this.#keys.keys());
    return { id, key: this.#stored(id).key };
  }

  /** Returns the key with this id, or undefined when the keyring does not contain it. */
  get(id: number): KeyEntry | undefined {
    const stored = this.#keys.get(id);
    return stored === undefined ? undefined : { id, key: stored.key };
  }

  /** Returns the ids of all keys, oldest first. */
  ids(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  /** Adds a new random key, which becomes current, and returns its id. */
  rotate(): number {
    const id = this.current().id + 1;
    this.#add(id, randomBytes(KEY_BYTES), new Date().toISOString());
    return id;
  }

  /**
   * Serializes the keyring, key bytes included, as
   * `{"version":1,"keys":[{"id":1,"key":"<base64>","created":"<iso>"}]}`.
   * The result is secret, so write it only to a file of mode 0600.
   */
  serialize(): string {
    const keys = this.ids().map((id) => {
      const stored = this.#stored(id);
      const bytes = stored.key.export();
      const key = bytes.toString('base64');
      bytes.fill(0);
      return { id, key, created: stored.created };
    });
    return `${JSON.stringify({ version: 1, keys }, null, 2)}\n`;
  }

  /** Returns a placeholder, so that a keyring logged or sent as JSON shows no key. */
  toJSON(): string {
    return this.#placeholder();
  }

  [inspect.custom](): string {
    return this.#placeholder();
  }

  #placeholder(): string {
    const count = this.#keys.size;
    return `Keyring(<${count} ${count === 1 ? 'key' : 'keys'}>)`;
  }

  #stored(id: number): StoredKey {
    const stored = this.#keys.get(id);
    if (stored === undefined) {
      throw new TesseraError('INTERNAL', `keyring has no key with id ${id}`);
    }
    return stored;
  }

  // createSecretKey copies the bytes, so the caller's buffer is zeroed here.
  #add(id: number, bytes: Buffer, created: string): void {
    this.#keys.set(id, { key: createSecretKey(bytes), created });
    bytes.fill(0);
  }
}

/**
 * Loads a keyring file written by `createKeyringFile`. Rejects a file that group or others
 * may read or write, as ssh does for private keys, with the chmod command that fixes it.
 */
export async function loadKeyringFile(file: string): Promise<Keyring> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw fileError(file, error, 'read');
  }

  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new TesseraError('CONFIG_INVALID', `keyring file ${file} is not a regular file`);
    }
    if ((stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw new TesseraError(
        'CONFIG_INVALID',
        `keyring file ${file} has mode ${mode}, so group or others may access it; ` +
          `run chmod 600 ${file}`,
        { file, mode },
      );
    }
    return Keyring.parse(await handle.readFile('utf8'), file);
  } finally {
    await handle.close();
  }
}

/**
 * Creates a keyring file with one new key, mode 0600. The create is exclusive, so an
 * existing file is never overwritten; the parent directory must exist.
 */
export async function createKeyringFile(file: string): Promise<Keyring> {
  const keyring = Keyring.generate();
  let handle: FileHandle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    throw fileError(file, error, 'create');
  }

  try {
    // The umask may have cleared bits of 0600 but never adds any; chmod makes it exact.
    await handle.chmod(0o600);
    await handle.writeFile(keyring.serialize(), 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(file, { force: true });
    throw fileError(file, error, 'write');
  }
  await handle.close();
  await syncDirectory(dirname(file));
  return keyring;
}

// Without this, a crash soon after could lose the new directory entry, and with it the only
// key to every value sealed in the meantime.
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Builds a keyring from an environment variable. The value is either one base64 256-bit
 * key (it gets id 1, as from `openssl rand -base64 32`) or the JSON of a keyring file.
 * `variable` names the variable in errors; the value itself never appears in them.
 */
export function keyringFromEnv(value: string, variable: string): Keyring {
  const text = value.trim();
  if (text === '') {
    throw new TesseraError(
      'CONFIG_INVALID',
      `environment variable ${variable} is empty; set it to a base64 256-bit key ` +
        `(openssl rand -base64 32)`,
      { variable },
    );
  }
  if (text.startsWith('{')) {
    return Keyring.parse(text, `environment variable ${variable}`);
  }

  // A key from the environment has no creation time of its own, so it gets the epoch.
  const bytes = decodeKey(text, `environment variable ${variable}`);
  return Keyring.fromKey(bytes, new Date(0).toISOString());
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse quotes part of its input in its message, and the input contains keys.
    throw invalid(source, 'is not valid JSON');
  }
}

function decodeKey(text: string, source: string): Buffer {
  if (!KEY_BASE64.test(text)) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${source} is not a base64 256-bit key: expected 44 characters of standard base64 ` +
        `encoding ${KEY_BYTES} bytes (openssl rand -base64 32)`,
      { source },
    );
  }
  return Buffer.from(text, 'base64');
}

function invalid(source: string, problem: string): TesseraError {
  return new TesseraError('CONFIG_INVALID', `keyring ${source} is invalid: ${problem}`, {
    source,
  });
}

function fileError(file: string, error: unknown, action: 'read' | 'create' | 'write'): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (action === 'create' && code === 'EEXIST') {
    return new TesseraError(
      'CONFIG_INVALID',
      `keyring file ${file} already exists and is never overwritten; load it instead, or ` +
        `move it away first if you mean to start over (values sealed with it stay unreadable ` +
        `without it)`,
      { file },
    );
  }
  if (code === 'ENOENT') {
    const fix =
      action === 'read'
        ? 'check the path, or restore the file from a backup (a new keyring cannot open values sealed with this one)'
        : `create the directory ${dirname(file)} first`;
    return new TesseraError('CONFIG_INVALID', `keyring file ${file} not found; ${fix}`, { file });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new TesseraError('CONFIG_INVALID', `failed to ${action} keyring file ${file}: ${reason}`, {
    file,
  });
}
