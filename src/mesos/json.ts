import { TesseraError } from '../errors.ts';

// V8's JSON.parse messages quote part of the input (`Unexpected token 'x', "..." is not
// valid JSON`), and the input may be a secret. Only these fixed descriptions reach a caller.
const REASONS: [RegExp, string][] = [
  [/^Unexpected end of JSON input/, 'unexpected end of input'],
  [/^Unterminated string/, 'unterminated string'],
  [/^Bad control character/, 'control character in a string (escape it, as in \\n)'],
  [/^Bad escaped character/, 'invalid escape sequence in a string'],
  [/^Bad Unicode escape/, 'invalid \\u escape in a string'],
  [/^Expected property name or '\}'/, "expected a double-quoted property name or '}'"],
  [/^Expected double-quoted property name/, 'expected a double-quoted property name'],
  [/^Expected ':' after property name/, "expected ':' after a property name"],
  [/^Expected ',' or '\}' after property value/, "expected ',' or '}' after a property value"],
  [/^Expected ',' or '\]' after array element/, "expected ',' or ']' after an array element"],
  [/^Unexpected non-whitespace character after JSON/, 'unexpected data after the JSON value'],
  [
    /^(Unexpected number|No number after minus sign|Exponent part|Unterminated fractional)/,
    'invalid number',
  ],
  [/^Unexpected string/, 'unexpected string'],
];

/** A position in a text: 1-based line and column, and the 0-based UTF-16 offset. */
export interface TextPosition {
  line: number;
  column: number;
  offset: number;
}

/**
 * A `JSON.parse` reviver. Node 24 passes `context.source`, the text of a primitive value,
 * as the JSON.parse source text access proposal specifies.
 */
export type JsonReviver = (key: string, value: unknown, context: { source?: string }) => unknown;

/**
 * Parses `text` with plain `JSON.parse` semantics: no comments, no trailing commas, no
 * byte order mark. On a syntax error, throws INVALID_ARGUMENT naming `what` and the line
 * and column of the error, and never any part of the text, because the text may contain a
 * secret. The original SyntaxError is not attached as `cause` for the same reason.
 */
export function parseJson(text: string, what: string, reviver?: JsonReviver): unknown {
  try {
    return JSON.parse(text, reviver as Parameters<typeof JSON.parse>[1]);
  } catch (error) {
    if (!(error instanceof SyntaxError)) {
      throw error;
    }
    const { reason, offset } = describeSyntaxError(error.message, text);
    const position = positionAt(text, offset);
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${what} is not valid JSON: ${reason} at line ${position.line}, column ${position.column}; ` +
        'fix the syntax there (comments and trailing commas are not allowed)',
      { line: position.line, column: position.column, offset: position.offset },
    );
  }
}

/**
 * Returns `text` without a leading byte order mark (U+FEFF), which RFC 8259 (section 8.1)
 * lets a parser ignore and which some editors write.
 */
export function withoutByteOrderMark(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/** Converts a 0-based UTF-16 offset in `text` to a 1-based line and column. */
export function positionAt(text: string, offset: number): TextPosition {
  const clamped = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  let newline = text.indexOf('\n');
  while (newline !== -1 && newline < clamped) {
    line += 1;
    lineStart = newline + 1;
    newline = text.indexOf('\n', lineStart);
  }
  return { line, column: clamped - lineStart + 1, offset: clamped };
}

function describeSyntaxError(message: string, text: string): { reason: string; offset: number } {
  const reason = REASONS.find(([pattern]) => pattern.test(message))?.[1] ?? 'unexpected token';
  const reported = /at position (\d+)/.exec(message);
  if (reported?.[1] !== undefined) {
    return { reason, offset: Number(reported[1]) };
  }
  if (reason === 'unexpected end of input') {
    return { reason, offset: text.length };
  }

  // V8 gives no position for an unexpected token or literal, so the text is scanned again.
  return { reason, offset: locateSyntaxError(text) };
}

/**
 * Returns the offset of the first character at which `text` stops being valid JSON
 * (RFC 8259), or `text.length` when the text ends too early. The scan keeps an explicit
 * stack, so deeply nested input cannot overflow the call stack.
 */
export function locateSyntaxError(text: string): number {
  const scanner = new JsonScanner(text);
  return scanner.firstError();
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX_DIGIT = /^[0-9a-fA-F]$/;
const DIGIT = /^[0-9]$/;

class JsonScanner {
  readonly #text: string;
  #index = 0;

  constructor(text: string) {
    this.#text = text;
  }

  firstError(): number {
    const containers: string[] = [];
    let expectValue = true;
    for (;;) {
      this.#skipWhitespace();
      if (expectValue) {
        const opened = this.#value();
        if (opened === 'error') {
          return this.#index;
        }
        if (opened !== undefined) {
          containers.push(opened);
          this.#skipWhitespace();
          if (this.#peek() === (opened === '{' ? '}' : ']')) {
            this.#index += 1;
            containers.pop();
          } else if (opened === '{' && !this.#propertyName()) {
            return this.#index;
          } else {
            continue;
          }
        }
        expectValue = false;
        continue;
      }

      const container = containers.at(-1);
      if (container === undefined) {
        return Math.min(this.#index, this.#text.length);
      }
      const next = this.#peek();
      if (next === ',') {
        this.#index += 1;
        this.#skipWhitespace();
        if (container === '{' && !this.#propertyName()) {
          return this.#index;
        }
        expectValue = true;
      } else if (next === (container === '{' ? '}' : ']')) {
        this.#index += 1;
        containers.pop();
      } else {
        return this.#index;
      }
    }
  }

  // Scans one value. Returns the bracket when a container opens, 'error' on a bad value.
  #value(): '{' | '[' | 'error' | undefined {
    const next = this.#peek();
    if (next === '{' || next === '[') {
      this.#index += 1;
      return next;
    }
    if (next === '"') {
      return this.#string() ? undefined : 'error';
    }
    if (next === '-' || (next !== undefined && DIGIT.test(next))) {
      return this.#number() ? undefined : 'error';
    }
    for (const literal of ['true', 'false', 'null']) {
      if (next === literal[0]) {
        return this.#literal(literal) ? undefined : 'error';
      }
    }
    return 'error';
  }

  // Scans `"name"` then `:`; leaves the index on the first bad character.
  #propertyName(): boolean {
    if (this.#peek() !== '"' || !this.#string()) {
      return false;
    }
    this.#skipWhitespace();
    if (this.#peek() !== ':') {
      return false;
    }
    this.#index += 1;
    return true;
  }

  #string(): boolean {
    this.#index += 1;
    for (;;) {
      const char = this.#peek();
      if (char === undefined || char < ' ') {
        return false;
      }
      if (char === '"') {
        this.#index += 1;
        return true;
      }
      if (char === '\\' && !this.#escape()) {
        return false;
      }
      if (char !== '\\') {
        this.#index += 1;
      }
    }
  }

  #escape(): boolean {
    this.#index += 1;
    const char = this.#peek();
    if (char !== undefined && ESCAPES.has(char)) {
      this.#index += 1;
      return true;
    }
    if (char !== 'u') {
      return false;
    }
    this.#index += 1;
    for (let count = 0; count < 4; count += 1) {
      if (!HEX_DIGIT.test(this.#peek() ?? '')) {
        return false;
      }
      this.#index += 1;
    }
    return true;
  }

  #number(): boolean {
    if (this.#peek() === '-') {
      this.#index += 1;
    }
    if (this.#peek() === '0') {
      this.#index += 1;
    } else if (!this.#digits()) {
      return false;
    }
    if (this.#peek() === '.') {
      this.#index += 1;
      if (!this.#digits()) {
        return false;
      }
    }
    if (this.#peek() === 'e' || this.#peek() === 'E') {
      this.#index += 1;
      if (this.#peek() === '+' || this.#peek() === '-') {
        this.#index += 1;
      }
      return this.#digits();
    }
    return true;
  }

  #digits(): boolean {
    const start = this.#index;
    while (DIGIT.test(this.#peek() ?? '')) {
      this.#index += 1;
    }
    return this.#index > start;
  }

  #literal(literal: string): boolean {
    for (const expected of literal) {
      if (this.#peek() !== expected) {
        return false;
      }
      this.#index += 1;
    }
    return true;
  }

  #peek(): string | undefined {
    return this.#text[this.#index];
  }

  #skipWhitespace(): void {
    while (WHITESPACE.has(this.#peek() ?? '')) {
      this.#index += 1;
    }
  }
}
