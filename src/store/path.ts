import { TesseraError } from '../errors.ts';
import { isQuotablePath, pathSyntaxRule, reservedFolderRule } from '../secret-path.ts';

const SECRET_PATH = 'secret path';

/**
 * Parses a secret path: non-empty UTF-8 segments separated by '/', with no control
 * character (see `CONTROL_CHARACTER`), no '.' or '..' segment and at most 512 bytes. One leading '/' is dropped,
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
  const rule = pathSyntaxRule(path, raw);
  if (rule !== undefined) {
    reject(raw, subject, rule);
  }
}

function rejectReserved(path: string, raw: string): void {
  const rule = reservedFolderRule(path);
  if (rule !== undefined) {
    reject(raw, SECRET_PATH, rule);
  }
}

function reject(raw: string, subject: string, rule: string): never {
  const quoted = isQuotablePath(raw) ? `${subject} ${JSON.stringify(raw)}` : subject;
  throw new TesseraError('INVALID_PATH', `${quoted} ${rule}`);
}
