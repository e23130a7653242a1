import { TesseraError } from '../errors.ts';

/** The maximum length of a secret path in UTF-8 bytes, after the leading '/' is dropped. */
export const MAX_PATH_BYTES = 512;

/**
 * The top-level folder of Tessera's own resources (`sys/policies/<name>`,
 * `sys/tokens/<accessor>`, `sys/audit`), which policies name like secret paths. No secret
 * may live there, so that a rule on `sys/*` can never also grant a secret.
 */
export const RESERVED_FOLDER = 'sys';

const SECRET_PATH = 'secret path';

/**
 * Parses a secret path: non-empty UTF-8 segments separated by '/', with no control
 * character, no '.' or '..' segment and at most 512 bytes. One leading '/' is dropped,
 * because Mesos and Marathon examples write both `/db/password` and `db/password`. That is
 * the only normalisation: paths are then compared byte for byte. The top-level folder
 * `sys` is reserved. Throws INVALID_PATH.
 */
export function parseSecretPath(raw: string): string {
  const path = dropLeadingSlash(raw);
  validatePath(path, raw, SECRET_PATH);
  rejectReserved(path, raw);
  return path;
}

/**
 * Parses a path that a policy can name: a secret path, or a path in the reserved `sys`
 * folder such as `sys/tokens/<accessor>`. The rules are those of `parseSecretPath`, apart
 * from the reservation. Throws INVALID_PATH.
 */
export function parseResourcePath(raw: string): string {
  const path = dropLeadingSlash(raw);
  validatePath(path, raw, 'path');
  return path;
}

/**
 * Checks `path` against the secret path rules, apart from the `sys` reservation, without
 * dropping a leading '/'. `subject` names the value in the message, as in `rules[2].path`,
 * and `shown` is the text quoted there: a policy pattern checks its fixed part but quotes
 * the whole pattern. Throws INVALID_PATH.
 */
export function checkPathSyntax(path: string, subject: string, shown: string = path): void {
  validatePath(path, shown, subject);
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
    reject(raw, SECRET_PATH, "has an empty segment at position 1; remove the extra '/'");
  }
  validatePath(path, raw, SECRET_PATH);
  rejectReserved(path, raw);
  return `${path}/`;
}

function dropLeadingSlash(raw: string): string {
  if (typeof raw !== 'string') {
    throw new TesseraError('INVALID_PATH', `secret path must be a string, not ${typeof raw}`);
  }
  return raw.startsWith('/') ? raw.slice(1) : raw;
}

function validatePath(path: string, raw: string, subject: string): void {
  if (path === '') {
    reject(raw, subject, 'is empty; give at least one segment, as in db/password');
  }
  if (hasControlCharacter(raw)) {
    reject(raw, subject, 'contains a control character (U+0000-U+001F or U+007F); remove it');
  }
  if (!raw.isWellFormed()) {
    reject(raw, subject, 'is not valid UTF-8 (it contains a lone UTF-16 surrogate)');
  }

  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > MAX_PATH_BYTES) {
    reject(raw, subject, `is ${bytes} bytes long; the maximum is ${MAX_PATH_BYTES} bytes of UTF-8`);
  }

  const segments = path.split('/');
  for (const [index, segment] of segments.entries()) {
    const position = index + 1;
    if (segment === '') {
      reject(raw, subject, `has an empty segment at position ${position}; remove the extra '/'`);
    }
    if (segment === '.' || segment === '..') {
      reject(
        raw,
        subject,
        `has a '${segment}' segment at position ${position}; write the path in full`,
      );
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

function rejectReserved(path: string, raw: string): void {
  if (path.split('/', 1)[0] === RESERVED_FOLDER) {
    reject(
      raw,
      SECRET_PATH,
      `is invalid: the top-level folder '${RESERVED_FOLDER}' is reserved for Tessera's own ` +
        'resources; choose another name',
    );
  }
}

function reject(raw: string, subject: string, rule: string): never {
  const printable =
    !hasControlCharacter(raw) && raw.isWellFormed() && raw.length <= MAX_PATH_BYTES + 1;
  const quoted = printable ? `${subject} ${JSON.stringify(raw)}` : subject;
  throw new TesseraError('INVALID_PATH', `${quoted} ${rule}`);
}
