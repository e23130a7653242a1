/** A word of a shell command: its text with quotes removed, and the text as written. */
export interface Word {
  text: string;
  raw: string;
}

/** A redirection such as `> index.html`. `target` is missing at the end of the input. */
export interface Redirect {
  operator: string;
  target: Word | undefined;
}

/** A simple command: its words and redirections, between control operators. */
export interface SimpleCommand {
  words: Word[];
  redirects: Redirect[];
}

type Token = { kind: 'word'; word: Word } | { kind: 'operator'; text: string };

// Longest first, so that `>>` is not read as two `>`.
const OPERATORS = ['&&', '||', ';;', '&>', '>>', '>|', '>&', '<<', '<&', '<>', ';', '&', '|'];
const SINGLE_OPERATORS = new Set([';', '&', '|', '(', ')', '>', '<', '\n']);
const REDIRECTS = new Set(['&>', '>>', '>|', '>&', '<<', '<&', '<>', '>', '<']);

/**
 * Splits a POSIX shell command line into simple commands. It follows quoting, escapes,
 * `$(...)`, `${...}` and backquotes well enough to find words, but it expands nothing and
 * does not read here-documents or shell keywords (`if`, `for`), whose words it treats as
 * commands. Unbalanced quotes run to the end of the text.
 */
export function parseCommands(text: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let current: SimpleCommand = { words: [], redirects: [] };
  let pending: Redirect | undefined;
  for (const token of lex(text)) {
    if (token.kind === 'word' && pending !== undefined) {
      pending.target = token.word;
      pending = undefined;
    } else if (token.kind === 'word') {
      current.words.push(token.word);
    } else if (REDIRECTS.has(token.text)) {
      pending = { operator: token.text, target: undefined };
      current.redirects.push(pending);
    } else {
      if (current.words.length > 0 || current.redirects.length > 0) commands.push(current);
      current = { words: [], redirects: [] };
      pending = undefined;
    }
  }
  if (current.words.length > 0 || current.redirects.length > 0) commands.push(current);
  return commands;
}

/** Returns the names of the variables that a word expands: `$NAME` and `${NAME...}`. */
export function referencedVariables(word: Word): string[] {
  return [...word.raw.matchAll(/\$(?:\{([A-Za-z_]\w*)|([A-Za-z_]\w*))/g)].map(
    (match) => (match[1] ?? match[2]) as string,
  );
}

function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let word: { text: string; start: number } | undefined;
  let index = 0;
  const flush = () => {
    if (word === undefined) return;
    tokens.push({ kind: 'word', word: { text: word.text, raw: text.slice(word.start, index) } });
    word = undefined;
  };

  while (index < text.length) {
    const char = text[index] as string;
    if (char === ' ' || char === '\t' || char === '\r') {
      flush();
      index += 1;
    } else if (char === '#' && word === undefined) {
      const newline = text.indexOf('\n', index);
      index = newline === -1 ? text.length : newline;
    } else if (operatorAt(text, index) !== undefined) {
      const operator = operatorAt(text, index) as string;
      // The digits of `2>` name a file descriptor, so they belong to the operator.
      if (word !== undefined && isDescriptor(text.slice(word.start, index), operator)) {
        word = undefined;
      }
      flush();
      tokens.push({ kind: 'operator', text: operator === '\n' ? ';' : operator });
      index += operator.length;
    } else {
      word ??= { text: '', start: index };
      const end = partEnd(text, index);
      word.text += unquote(text.slice(index, end));
      index = end;
    }
  }
  flush();
  return tokens;
}

function isDescriptor(written: string, operator: string): boolean {
  return /^\d+$/.test(written) && /^[<>]/.test(operator);
}

function operatorAt(text: string, index: number): string | undefined {
  const multi = OPERATORS.find((operator) => text.startsWith(operator, index));
  if (multi !== undefined) return multi;
  const char = text[index] as string;
  return SINGLE_OPERATORS.has(char) ? char : undefined;
}

// Returns the end of the word part that starts at `index`: a quoted string, an escape,
// a substitution, or one plain character.
function partEnd(text: string, index: number): number {
  const char = text[index];
  if (char === "'") return singleQuotedEnd(text, index);
  if (char === '"') return doubleQuotedEnd(text, index);
  if (char === '`') return closingEnd(text, index, '`');
  if (char === '\\') return Math.min(index + 2, text.length);
  if (text.startsWith('$(', index)) return substitutionEnd(text, index);
  if (text.startsWith('${', index)) return closingEnd(text, index, '}');
  return index + 1;
}

function unquote(part: string): string {
  if (part.startsWith("'")) return part.slice(1, part.endsWith("'") ? -1 : undefined);
  if (part.startsWith('"')) {
    const inner = part.slice(1, part.length > 1 && part.endsWith('"') ? -1 : undefined);
    return inner.replace(/\\(["\\$`])/g, '$1');
  }
  if (part.startsWith('\\')) return part.slice(1).replace('\n', '');
  return part;
}

function singleQuotedEnd(text: string, index: number): number {
  return closingEnd(text, index, "'");
}

function closingEnd(text: string, index: number, closing: string): number {
  const end = text.indexOf(closing, index + 1);
  return end === -1 ? text.length : end + 1;
}

// A double-quoted string may hold `$(...)`, whose own quotes do not end it.
function doubleQuotedEnd(text: string, index: number): number {
  let position = index + 1;
  while (position < text.length) {
    const char = text[position];
    if (char === '"') return position + 1;
    if (char === '\\') position += 2;
    else if (text.startsWith('$(', position)) position = substitutionEnd(text, position);
    else position += 1;
  }
  return text.length;
}

// Counts parentheses to the one that closes `$(`, skipping quoted strings whole. A
// substitution inside those quotes is not followed, so this function needs no recursion.
function substitutionEnd(text: string, index: number): number {
  let depth = 0;
  let position = index + 1;
  while (position < text.length) {
    const char = text[position];
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth === 0) return position + 1;
    if (char === "'") position = singleQuotedEnd(text, position);
    else if (char === '"') position = plainDoubleQuotedEnd(text, position);
    else position += char === '\\' ? 2 : 1;
  }
  return text.length;
}

function plainDoubleQuotedEnd(text: string, index: number): number {
  let position = index + 1;
  while (position < text.length) {
    if (text[position] === '"') return position + 1;
    position += text[position] === '\\' ? 2 : 1;
  }
  return text.length;
}
