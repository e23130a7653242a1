import { TesseraError } from '../errors.ts';

/** The maximum length of a secret path in UTF-8 bytes, after the leading '/' is dropped. */
export const MAX_PATH_BYTES = 512;

/**
 * Parses a secret path: non-empty UTF-8 segments separated by '/', with no control
 * character, no '.' or '..' segment and at most 512 bytes. One leading '/' is dropped,
 * because Mesos and Marathon examples write both `/db/password` and `db/password`. That is
 * the only normalisation: paths are then compared byte for byte. Throws INVALID_PATH.
 */
export function parseSecretPath(raw: string): string {
  const path = dropLeadingSlash(raw);
  validatePath(path, raw);
  return path;
}

/**
 * Parses the prefix of a list request: '' for the root, otherwise a valid secret path
 * followed by '/'. A missing trailing '/' is added and one leading '/' is dropped, so
 * `/db`, `db` and `db/` all return `db/`. Throws INVALID_PATH.
 */
export function parseListPrefix(raw: string): string {
  const prefix = dropLeadingSlash(raw);
  if (prefix === '') {
    return '';
  }

  const path = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (path === '') {
    reject(raw, "has an empty segment at position 1; remove the extra '/'");
  }
  validatePath(path, raw);
  return `${path}/`;
}

function dropLeadingSlash(raw: string): string {
  if (typeof raw !== 'string') {
    throw new TesseraError('INVALID_PATH', `secret path must be a string, not ${typeof raw}`);
  }
  return raw.startsWith('/') ? raw.slice(1) : raw;
}

function validatePath(path: string, raw: string): void {
  if (path === '') {
    reject(raw, 'is empty; give at least one segment, as in db/password');
  }
  if (hasControlCharacter(raw)) {
    reject(raw, 'contains a control character (U+0000-U+001F or U+007F); remove it');
  }
  if (!raw.isWellFormed()) {
    reject(raw, 'is not valid UTF-8 (it contains a lone UTF-16 surrogate)');
  }

  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > MAX_PATH_BYTES) {
    reject(raw, `is ${bytes} bytes long; the maximum is ${MAX_PATH_BYTES} bytes of UTF-8`);
  }

  const segments = path.split('/');
  for (const [index, segment] of segments.entries()) {
    const position = index + 1;
    if (segment === '') {
      reject(raw, `has an empty segment at position ${position}; remove the extra '/'`);
    }
    if (segment === '.' || segment === '..') {
      reject(raw, `has a '${segment}' segment at position ${position}; write the path in full`);
    }
  }
}

// The path is quoted only when it is printable on one line and short enough to read.
// U+0000-U+001F and U+007F are rejected, because paths end up in log lines, audit entries
// and file names.
function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code <= 0x1f || code === 0x7f) {
      return true;
    }
  }
  return false;
}

function reject(raw: string, rule: string): never {
  const printable =
    !hasControlCharacter(raw) && raw.isWellFormed() && raw.length <= MAX_PATH_BYTES + 1;
  const subject = printable ? `secret path ${JSON.stringify(raw)}` : 'secret path';
  throw new TesseraError('INVALID_PATH', `${subject} ${rule}`);
}
