import { TesseraError } from '../errors.ts';
import { type JsonReviver, parseJson, positionAt, withoutByteOrderMark } from './json.ts';
import { printable } from './secret-rules.ts';

/** The deepest nesting of arrays and objects that a definition may have. */
export const MAX_NESTING = 1000;

// The maximum length of a key that an error quotes in full.
const MAX_QUOTED_KEY = 80;

/**
 * Parses the JSON text of a task or Marathon definition with `parseJson`, after dropping
 * a leading byte order mark, and checks its nesting with `checkNesting` and its keys with
 * `checkDuplicateKeys`. With `exactNumbers`, a number that JSON.stringify would write
 * differently, such as an integer above 2^53, `1.0` or `1e3`, is kept as its text, so
 * that JSON.stringify writes it as it was.
 */
export function parseDefinitionJson(
  text: string,
  what: string,
  options: { exactNumbers?: boolean } = {},
): unknown {
  const body = withoutByteOrderMark(text);
  // JSON.parse recurses when it has a reviver, so the nesting is checked on a first parse
  // without one.
  const value = parseJson(body, what);
  checkNesting(value, what);
  checkDuplicateKeys(body, what);
  return options.exactNumbers === true ? parseJson(body, what, keepNumberText) : value;
}

/**
 * Throws INVALID_ARGUMENT when an object of `text`, which must be valid JSON, has the same
 * key twice, naming `what` and the line and column of the second. Parsers keep one of the
 * two (`JSON.parse` the last), so the other would be lost unseen. The message quotes the
 * key unless `quoteKey` is false, for text whose keys may be values pasted by mistake.
 */
export function checkDuplicateKeys(
  text: string,
  what: string,
  options: { quoteKey?: boolean } = {},
): void {
  const duplicate = findDuplicateKey(text);
  if (duplicate === undefined) return;

  const { line, column } = positionAt(text, duplicate.offset);
  const key = options.quoteKey === false ? 'a key' : `the key '${quotedKey(duplicate.key)}'`;
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `${what} has ${key} twice in one object, the second at line ${line}, column ${column}; ` +
      'a JSON parser keeps only one of them, so remove the other',
    { line, column },
  );
}

/**
 * Throws INVALID_ARGUMENT naming `what` when `value` nests arrays and objects more than
 * MAX_NESTING levels deep. JSON.stringify and structuredClone recurse, and with Node 24's
 * default stack they failed between 2000 and 5000 nested arrays (measured on x86-64),
 * while a definition nests a few levels. The walk keeps its own stack.
 */
export function checkNesting(value: unknown, what: string): void {
  const stack: [unknown, number][] = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [current, depth] = item;
    if (current === null || typeof current !== 'object') {
      continue;
    }
    if (depth > MAX_NESTING) {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `${what} nests arrays and objects more than ${MAX_NESTING} levels deep, which no ` +
          'task or Marathon definition needs; check how the file was made',
      );
    }
    for (const child of Object.values(current)) {
      stack.push([child, depth + 1]);
    }
  }
}

// JSON.rawJSON, from the JSON.parse source text access proposal, is in Node 24 but not in
// TypeScript's ES2024 library.
const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

const keepNumberText: JsonReviver = (_key, value, context) => {
  if (typeof value !== 'number' || context.source === undefined) {
    return value;
  }
  return JSON.stringify(value) === context.source ? value : rawJson(context.source);
};

/**
 * Returns the first key that an object of `text` has twice, and the offset of its second
 * occurrence. `text` must be valid JSON. Keys are compared after their escapes are
 * decoded, as JSON.parse compares them.
 */
export function findDuplicateKey(text: string): { key: string; offset: number } | undefined {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '"') {
      const end = stringEnd(text, index);
      const keys = open.at(-1);
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(index, end)) as string;
        if (keys.has(key)) {
          return { key, offset: index };
        }
        keys.add(key);
        expectKey = false;
      }
      index = end - 1;
    } else if (char === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      open.push(null);
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if (char === ',') {
      expectKey = open.at(-1) instanceof Set;
    }
  }
  return undefined;
}

// The offset just after the closing quote of the string that opens at `start`.
function stringEnd(text: string, start: number): number {
  let index = start + 1;
  while (index < text.length && text[index] !== '"') {
    index += text[index] === '\\' ? 2 : 1;
  }
  return index + 1;
}

function quotedKey(key: string): string {
  const shown = key.length > MAX_QUOTED_KEY ? `${key.slice(0, MAX_QUOTED_KEY)}...` : key;
  return printable(shown);
}
