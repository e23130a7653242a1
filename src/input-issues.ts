import type { z } from 'zod';

import { TesseraError } from './errors.ts';

// Zod's default messages speak of its own types ("expected record, received undefined",
// `Unrecognized key: "x"`). These describe each problem in the terms of a JSON document,
// and never quote the received value, which may be a secret.

/** One problem of an input: the JSON path of the bad value and what is wrong with it. */
export interface InputProblem {
  path: string;
  message: string;
}

const NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a JSON object',
  record: 'a JSON object',
  array: 'an array',
  null: 'null',
};

/**
 * Describes a Zod issue in JSON terms, for the `error` option of `safeParse`. A message
 * that a schema sets itself takes precedence, because Zod applies it first, and an issue
 * not handled here keeps Zod's message.
 */
export function describeInputIssue(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.input === undefined && issue.code !== 'unrecognized_keys') return 'is missing';
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${NOUNS[issue.expected] ?? issue.expected}`;
    case 'invalid_union':
      return `must be ${unionNouns(issue.errors)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'unrecognized_keys':
      return unknownFields(issue.keys, issue.inst);
    // The issues of the key schema come with their messages already set.
    case 'invalid_key':
      return issue.issues[0]?.message ?? 'is not a valid key';
    case 'too_big':
      return sizeLimit(issue.origin, 'at most', issue.maximum);
    case 'too_small':
      return sizeLimit(issue.origin, 'at least', issue.minimum);
    default:
      return undefined;
  }
}

/**
 * Formats an issue's path as JSON paths are written in messages: `writes[1].fields`, and
 * `labels[""]` for an empty key.
 */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      if (key === '') return '[""]';
      return `${index > 0 ? '.' : ''}${String(key)}`;
    })
    .join('');
}

/** Turns Zod's issues into problems with JSON paths; `(top level)` names the whole input. */
export function inputProblems(error: z.ZodError): InputProblem[] {
  return error.issues.map((issue) => ({
    path: formatIssuePath(issue.path) || '(top level)',
    message: issue.message,
  }));
}

/**
 * Builds the INVALID_ARGUMENT error of an input with problems: `what` is invalid, each
 * problem by its path, then `fix` when given. Its details are `details` and the problems.
 */
export function invalidInput(
  what: string,
  problems: InputProblem[],
  options: { fix?: string; details?: Record<string, unknown> } = {},
): TesseraError {
  const lines = problems.map((problem) => `${problem.path} ${problem.message}`).join('; ');
  const fix = options.fix === undefined ? '' : `; ${options.fix}`;
  return new TesseraError('INVALID_ARGUMENT', `${what} is invalid: ${lines}${fix}`, {
    ...options.details,
    problems,
  });
}

function unionNouns(alternatives: readonly (readonly z.core.$ZodIssue[])[]): string {
  const nouns = alternatives.flatMap((issues) =>
    issues.flatMap((issue) =>
      issue.code === 'invalid_type' ? [NOUNS[issue.expected] ?? issue.expected] : [],
    ),
  );
  return nouns.length > 0 ? [...new Set(nouns)].join(' or ') : 'of another type';
}

// Field names are cut at 40 characters, because a caller may paste a value as a name.
function unknownFields(keys: readonly string[], schema: unknown): string {
  const names = keys.map((key) => `'${key.slice(0, 40)}'`).join(', ');
  const shape = (schema as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def
    ?.shape;
  const allowed = shape ? Object.keys(shape).map((key) => `"${key}"`) : [];
  const noun = keys.length === 1 ? 'field' : 'fields';
  if (allowed.length === 0) return `has unknown ${noun} ${names}`;
  return `has unknown ${noun} ${names}; allowed: ${allowed.join(', ')}`;
}

function sizeLimit(origin: string, bound: string, limit: number | bigint): string {
  if (origin === 'string') return `must be ${bound} ${limit} characters`;
  if (origin === 'array' || origin === 'set') return `must have ${bound} ${limit} items`;
  if (origin === 'int') return `must be a whole number ${bound} ${limit}`;
  return `must be ${bound} ${limit}`;
}
