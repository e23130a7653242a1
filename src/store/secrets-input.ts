import { TesseraError } from '../errors.ts';
import { controlCharacterOf } from '../secret-path.ts';
import type { MetadataPatch } from './store.ts';

/** The maximum number of fields in one version of a secret. */
export const MAX_FIELDS = 64;

/** The maximum length of a field name in UTF-8 bytes. */
export const MAX_FIELD_NAME_BYTES = 256;

// Vault KV version 2 limits custom metadata to 64 keys of at most 128 bytes, whose values
// are at most 512 bytes.
const MAX_CUSTOM_KEYS = 64;
const MAX_CUSTOM_KEY_BYTES = 128;
const MAX_CUSTOM_VALUE_BYTES = 512;

/** Throws INVALID_ARGUMENT unless `version` is a whole number of 1 or more. */
export function checkVersion(version: unknown, name: string): void {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new TesseraError('INVALID_ARGUMENT', `${name} must be a whole number of 1 or more`);
  }
}

/**
 * Throws INVALID_ARGUMENT unless `fields` has at most 64 fields, each with a non-empty
 * name of at most 256 bytes without control characters (as paths have none) and a Buffer
 * value. Messages refer to a field by position, never by name, because a caller may paste
 * a value where a name belongs.
 */
export function checkFields(fields: Record<string, Buffer>, path: string): void {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new TesseraError('INVALID_ARGUMENT', `fields of secret ${path} must be an object`);
  }
  const entries = Object.entries(fields);
  if (entries.length > MAX_FIELDS) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `secret ${path} has ${entries.length} fields; the maximum is ${MAX_FIELDS}`,
      { path },
    );
  }
  for (const [index, [name, value]] of entries.entries()) {
    const problem = fieldProblem(name, value);
    if (problem !== undefined) {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `field ${index + 1} of secret ${path} ${problem}`,
        { path, field: index + 1 },
      );
    }
  }
}

function fieldProblem(name: string, value: unknown): string | undefined {
  if (name === '') {
    return 'has an empty name; give every field a name';
  }
  if (!name.isWellFormed()) {
    return 'has a name that is not valid UTF-8';
  }
  const control = controlCharacterOf(name);
  if (control !== undefined) {
    return `has a name with the control character ${control}; remove it`;
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_FIELD_NAME_BYTES) {
    return `has a name of ${bytes} bytes; the maximum is ${MAX_FIELD_NAME_BYTES} bytes`;
  }
  if (!(value instanceof Uint8Array)) {
    return 'has a value that is not bytes (a Buffer)';
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT unless `patch` is a valid metadata patch. */
export function checkPatch(patch: MetadataPatch, path: string): void {
  const { maxVersions, casRequired, customMetadata } = patch;
  if (maxVersions !== undefined && (!Number.isSafeInteger(maxVersions) || maxVersions < 0)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `maxVersions of secret ${path} must be a whole number of 0 or more (0 keeps 10)`,
      { path },
    );
  }
  if (casRequired !== undefined && typeof casRequired !== 'boolean') {
    throw new TesseraError('INVALID_ARGUMENT', `casRequired of secret ${path} must be a boolean`);
  }
  if (customMetadata !== undefined) {
    checkCustomMetadata(customMetadata, path);
  }
}

function checkCustomMetadata(custom: Record<string, string>, path: string): void {
  const fail = (problem: string) =>
    new TesseraError('INVALID_ARGUMENT', `custom metadata of secret ${path} ${problem}`, { path });
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) {
    throw fail('must be an object of strings');
  }
  const entries = Object.entries(custom);
  if (entries.length > MAX_CUSTOM_KEYS) {
    throw fail(`has ${entries.length} keys; the maximum is ${MAX_CUSTOM_KEYS}`);
  }
  for (const [key, value] of entries) {
    if (key === '' || Buffer.byteLength(key, 'utf8') > MAX_CUSTOM_KEY_BYTES) {
      throw fail(`has a key that is empty or over ${MAX_CUSTOM_KEY_BYTES} bytes`);
    }
    if (typeof value !== 'string' || Buffer.byteLength(value, 'utf8') > MAX_CUSTOM_VALUE_BYTES) {
      throw fail(
        `key ${JSON.stringify(key)} must be a string of at most ${MAX_CUSTOM_VALUE_BYTES} bytes`,
      );
    }
  }
}
