import { inspect } from 'node:util';
import { isTesseraError, TesseraError } from '../errors.ts';
import { decodeBase64 } from './base64.ts';
import { parseJson } from './json.ts';
import { printable } from './secret-rules.ts';
import { referencePath } from './secrets.ts';
import type { SecretsFileEntry } from './types.ts';

export type { SecretsFileEntry } from './types.ts';

// The error message lists at most this many entries; `details.problems` lists them all.
const MAX_LISTED_PROBLEMS = 20;

/** A problem with one entry of a secrets file, by its 0-based index in the array. */
export interface EntryProblem {
  entry: number;
  message: string;
}

type Fields = Record<string, unknown>;

/**
 * Parses a Mesos-style secrets file: a JSON array of
 * `{"reference": {"name": ..., "key"?: ...}, "value": {"data": <base64>}}`. Parsing is
 * strict and all or nothing: any invalid entry rejects the whole file with
 * INVALID_SECRETS_FILE, listing every bad entry by its 0-based index. The rules are strict
 * JSON, strict base64, a non-empty name, no fields beyond these, and no two entries with
 * the same secret path and field (after `referencePath`, so `/a` and `a`, and a missing
 * key and `"value"`, are the same). Zero-length data is valid. `source` names the file
 * in errors. Messages never contain any part of an entry's data.
 */
export function parseSecretsFile(text: string, source: string): SecretsFileEntry[] {
  const document = parseDocument(text, source);
  if (!Array.isArray(document)) {
    throw new TesseraError(
      'INVALID_SECRETS_FILE',
      `${source} must contain a JSON array of ` +
        '{"reference": {"name": ...}, "value": {"data": ...}} entries, so none of it was loaded',
      { source },
    );
  }

  const entries: SecretsFileEntry[] = [];
  const problems: EntryProblem[] = [];
  const firstIndex = new Map<string, number>();
  for (const [index, raw] of document.entries()) {
    const result = readEntry(raw, index);
    if (typeof result === 'string') {
      problems.push({ entry: index, message: result });
      continue;
    }

    const { path, field } = referencePath(result);
    const identity = JSON.stringify([path, field]);
    const first = firstIndex.get(identity);
    if (first !== undefined) {
      problems.push({
        entry: index,
        message:
          `entries ${first} and ${index} both define secret '${printable(path)}' field ` +
          `'${printable(field)}'; keep one of them`,
      });
      continue;
    }
    firstIndex.set(identity, index);
    entries.push(result);
  }

  if (problems.length > 0) {
    throw invalidFile(source, problems);
  }
  return entries;
}

function parseDocument(text: string, source: string): unknown {
  try {
    return parseJson(text, source);
  } catch (error) {
    if (isTesseraError(error, 'INVALID_ARGUMENT')) {
      throw new TesseraError('INVALID_SECRETS_FILE', `${error.message}; none of it was loaded`, {
        ...error.details,
        source,
      });
    }
    throw error;
  }
}

// Returns the entry, or the first problem with it.
function readEntry(raw: unknown, index: number): SecretsFileEntry | string {
  const at = `entry ${index}`;
  if (!isObject(raw)) {
    return `${at} must be an object with reference and value`;
  }
  const extra =
    unknownFields(raw, ['reference', 'value']) ?? unknownFields(raw.reference, ['name', 'key']);
  if (extra !== undefined) {
    return `${at} has ${extra}`;
  }

  const reference = raw.reference;
  if (!isObject(reference)) {
    return reference === undefined
      ? `${at}: reference is missing`
      : `${at}: reference must be an object`;
  }
  const { name, key } = reference;
  if (typeof name !== 'string') {
    return name === undefined
      ? `${at}: reference.name is missing`
      : `${at}: reference.name must be a string`;
  }
  if (name === '' || name === '/') {
    return (
      `${at}: reference.name must not be empty; ` +
      "set it to the secret's path, as in /team/db-password"
    );
  }
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    return `${at}: reference.key must be a non-empty string; omit it to mean the field 'value'`;
  }

  const data = readData(raw.value, at);
  if (typeof data === 'string') {
    return data;
  }
  return makeEntry(name, key, data);
}

// Returns the decoded bytes of `value.data`, or a problem.
function readData(value: unknown, at: string): Buffer | string {
  if (value !== undefined && !isObject(value)) {
    return `${at}: value must be an object with data`;
  }
  const extra = unknownFields(value, ['data']);
  if (extra !== undefined) {
    return `${at}: value has ${extra}`;
  }

  const data = value?.data;
  if (data === undefined) {
    return `${at}: value.data is missing; set it to the secret's bytes in base64 ("" for none)`;
  }
  if (typeof data !== 'string') {
    return `${at}: value.data must be a base64 string`;
  }
  try {
    return decodeBase64(data, `${at}: value.data`);
  } catch (error) {
    if (isTesseraError(error, 'INVALID_ARGUMENT')) {
      return error.message;
    }
    throw error;
  }
}

// Unknown field names are counted, not quoted: a value pasted where a key belongs would
// otherwise reach the log and the health endpoint.
function unknownFields(object: unknown, allowed: string[]): string | undefined {
  if (!isObject(object)) {
    return undefined;
  }
  const unknown = Object.keys(object).filter((field) => !allowed.includes(field));
  if (unknown.length === 0) {
    return undefined;
  }
  const count = unknown.length === 1 ? 'an unknown field' : `${unknown.length} unknown fields`;
  return `${count}; the allowed fields are ${allowed.join(' and ')}`;
}

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// An entry prints and serialises without its bytes, so logging one does not leak them.
function makeEntry(name: string, key: string | undefined, data: Buffer): SecretsFileEntry {
  const entry: SecretsFileEntry = key === undefined ? { name, data } : { name, key, data };
  const redacted = () => ({
    name,
    ...(key === undefined ? {} : { key }),
    data: `[${data.length} bytes]`,
  });
  Object.defineProperty(entry, 'toJSON', { value: redacted });
  Object.defineProperty(entry, inspect.custom, {
    value: () => `SecretsFileEntry ${inspect(redacted())}`,
  });
  return entry;
}

function invalidFile(source: string, problems: EntryProblem[]): TesseraError {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((problem) => `  ${problem.message}`);
  if (problems.length > MAX_LISTED_PROBLEMS) {
    listed.push(`  ... and ${problems.length - MAX_LISTED_PROBLEMS} more`);
  }
  const count = problems.length === 1 ? '1 invalid entry' : `${problems.length} invalid entries`;
  return new TesseraError(
    'INVALID_SECRETS_FILE',
    `${source} is not a valid secrets file (${count}, numbered from 0), so none of it was ` +
      `loaded; fix each one:\n${listed.join('\n')}`,
    { source, problems },
  );
}
