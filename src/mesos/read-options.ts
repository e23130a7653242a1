import { TesseraError } from '../errors.ts';
import { printable } from './secret-rules.ts';

/**
 * Maximum timeout in milliseconds that Node.js timers accept (2^31 - 1, about 24.8 days).
 * Node.js 24 runs a longer one, AbortSignal.timeout's included, after 1 ms with a
 * TimeoutOverflowWarning.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Parses a whole number from 1 to `max`, given as a number or as text to `option` (a flag
 * such as `--timeout-ms`, or the name of an SDK option). Throws INVALID_ARGUMENT naming
 * the option and the value.
 */
export function parseCount(value: unknown, option: string, max = Number.MAX_SAFE_INTEGER): number {
  const count = typeof value === 'number' || typeof value === 'string' ? Number(value) : Number.NaN;
  if (Number.isInteger(count) && count >= 1 && count <= max) {
    return count;
  }
  const range =
    max === Number.MAX_SAFE_INTEGER ? 'a positive whole number' : `a whole number from 1 to ${max}`;
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `${option} must be ${range}; got '${printable(String(value))}'`,
  );
}

/**
 * Checks an Authorization header value given to `option`. Throws INVALID_ARGUMENT, without
 * the value, unless it is a string of printable ASCII characters, as the Basic and Bearer
 * schemes produce. fetch() rejects line breaks and characters above U+00FF in a header.
 */
export function checkAuthorization(value: unknown, option: string): string | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== 'string' || /[^\x20-\x7e]/.test(value)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${option} must be a string of printable ASCII characters; its value is not shown`,
    );
  }
  return value;
}
