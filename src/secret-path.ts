// The syntax of a secret path, shared by the store, which rejects a bad path, and by the
// Mesos checks, which reject a reference to one before a task starts.

/** The maximum length of a secret path in UTF-8 bytes, after the leading '/' is dropped. */
export const MAX_PATH_BYTES = 512;

/**
 * The top-level folder of Tessera's own resources (`sys/policies/<name>`,
 * `sys/tokens/<accessor>`, `sys/audit`), which policies name like secret paths. No secret
 * may live there, so that a rule on `sys/*` can never also grant a secret.
 */
export const RESERVED_FOLDER = 'sys';

/**
 * Returns the first syntax rule that `path` breaks, as the end of a sentence that starts
 * with the path ("... has an empty segment at position 2; remove the extra '/'"), or
 * undefined. A path is non-empty UTF-8 segments separated by '/', with no control
 * character, no '.' or '..' segment and at most 512 bytes. `raw` is the text as written,
 * before a leading '/' was dropped, and is the one checked for control characters.
 */
export function pathSyntaxRule(path: string, raw: string = path): string | undefined {
  if (path === '') {
    return 'is empty; give at least one segment, as in db/password';
  }
  const control = controlCharacterOf(raw);
  if (control !== undefined) {
    return `contains the control character ${control}; remove it`;
  }
  if (!raw.isWellFormed()) {
    return 'is not valid UTF-8 (it contains a lone UTF-16 surrogate)';
  }

  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > MAX_PATH_BYTES) {
    return `is ${bytes} bytes long; the maximum is ${MAX_PATH_BYTES} bytes of UTF-8`;
  }

  const segments = path.split('/');
  for (const [index, segment] of segments.entries()) {
    const position = index + 1;
    if (segment === '') {
      return `has an empty segment at position ${position}; remove the extra '/'`;
    }
    if (segment === '.' || segment === '..') {
      return `has a '${segment}' segment at position ${position}; write the path in full`;
    }
  }
  return undefined;
}

/** Returns the rule that `path` breaks when it lies in the reserved folder, or undefined. */
export function reservedFolderRule(path: string): string | undefined {
  if (path.split('/', 1)[0] !== RESERVED_FOLDER) {
    return undefined;
  }
  return (
    `is invalid: the top-level folder '${RESERVED_FOLDER}' is reserved for Tessera's own ` +
    'resources; choose another name'
  );
}

/**
 * Tells whether a path can be quoted in a message: printable on one line and short enough
 * to read.
 */
export function isQuotablePath(raw: string): boolean {
  return !hasControlCharacter(raw) && raw.isWellFormed() && raw.length <= MAX_PATH_BYTES + 1;
}

/**
 * Characters that no path or field name may contain, because names end up in log lines,
 * audit entries, terminals and file names. They are the C0 controls, DEL and the C1
 * controls (Unicode category Cc: U+0000-U+001F, U+007F-U+009F), and the line and
 * paragraph separators U+2028 and U+2029. They are also the bidirectional controls, which
 * reorder the text around them (Unicode property Bidi_Control: U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069).
 */
const CONTROL_CHARACTER = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/u;

/** Returns the first control character in `text` as `U+XXXX`, or undefined for none. */
export function controlCharacterOf(text: string): string | undefined {
  const match = CONTROL_CHARACTER.exec(text);
  if (!match) return undefined;
  const code = match[0].codePointAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function hasControlCharacter(text: string): boolean {
  return CONTROL_CHARACTER.test(text);
}
