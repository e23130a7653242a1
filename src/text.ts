import { isUtf8 } from 'node:buffer';
import { TesseraError } from './errors.ts';
import { emptyRecord } from './records.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes each field as UTF-8 text. A field whose bytes are not UTF-8 cannot be a JSON
 * string, so the caller's `notText` builds the error naming that field and the way to
 * read its bytes instead.
 */
export function textFields(
  fields: Record<string, Buffer>,
  notText: (field: string) => TesseraError,
): Record<string, string> {
  const data = emptyRecord<string>();
  for (const [name, bytes] of Object.entries(fields)) {
    try {
      data[name] = utf8.decode(bytes);
    } catch {
      throw notText(name);
    }
  }
  return data;
}

/**
 * Decodes UTF-8 bytes, rejecting any byte that is not part of a valid UTF-8 sequence
 * rather than replacing it with U+FFFD. A byte order mark is kept. Throws
 * INVALID_ARGUMENT naming `what`, the line and the byte offset of the first invalid
 * sequence, and never the bytes themselves, which may belong to a secret.
 */
export function decodeUtf8Text(bytes: Buffer, what: string): string {
  if (isUtf8(bytes)) {
    return bytes.toString('utf8');
  }
  const offset = firstInvalidUtf8(bytes);
  const line = bytes.subarray(0, offset).filter((byte) => byte === 0x0a).length + 1;
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `${what} is not valid UTF-8: a byte at line ${line}, byte offset ${offset} (counting ` +
      'from 0) starts no UTF-8 sequence; save the file as UTF-8',
    { line, offset },
  );
}

// Returns the offset of the first byte that starts no valid sequence (RFC 3629, section
// 4): overlong forms, surrogates and code points above U+10FFFF are invalid.
function firstInvalidUtf8(bytes: Buffer): number {
  let index = 0;
  while (index < bytes.length) {
    const length = sequenceLength(bytes, index);
    if (length === 0) {
      return index;
    }
    index += length;
  }
  return bytes.length;
}

// The length of the valid sequence at `index`, or 0 when none starts there.
function sequenceLength(bytes: Buffer, index: number): number {
  const lead = bytes[index] ?? 0;
  if (lead < 0x80) {
    return 1;
  }
  const [length, low, high] = leadRule(lead);
  for (let next = 1; next < length; next += 1) {
    const byte = bytes[index + next];
    const min = next === 1 ? low : 0x80;
    const max = next === 1 ? high : 0xbf;
    if (byte === undefined || byte < min || byte > max) {
      return 0;
    }
  }
  return length;
}

// For a lead byte: the sequence length and the range of the byte after it, or length 0.
function leadRule(lead: number): [number, number, number] {
  if (lead >= 0xc2 && lead <= 0xdf) return [2, 0x80, 0xbf];
  if (lead === 0xe0) return [3, 0xa0, 0xbf];
  if (lead === 0xed) return [3, 0x80, 0x9f];
  if (lead >= 0xe1 && lead <= 0xef) return [3, 0x80, 0xbf];
  if (lead === 0xf0) return [4, 0x90, 0xbf];
  if (lead >= 0xf1 && lead <= 0xf3) return [4, 0x80, 0xbf];
  if (lead === 0xf4) return [4, 0x80, 0x8f];
  return [0, 0, 0];
}

/** Returns the count with the noun in the form it takes: `1 file`, `2 files`, `0 entries`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

// At most this many field names go into a message.
const LISTED_FIELDS = 20;

/**
 * Returns the message that a secret has no such field. It names the fields the secret
 * has, never their values, because advice to run `tessera get` would print the values.
 */
export function missingFieldMessage(
  path: string,
  field: string,
  fields: Record<string, unknown>,
): string {
  const names = Object.keys(fields).sort();
  if (names.length === 0) return `secret '${path}' has no field '${field}', and no fields at all`;
  const listed = names.slice(0, LISTED_FIELDS).join(', ');
  const more = names.length > LISTED_FIELDS ? ` and ${names.length - LISTED_FIELDS} more` : '';
  return `secret '${path}' has no field '${field}'; its fields are: ${listed}${more}`;
}
