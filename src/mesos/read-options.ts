import { constants } from 'node:buffer';

import { TesseraError } from '../errors.ts';
import { printable } from './secret-rules.ts';

/**
 * Maximum timeout in milliseconds that Node.js timers accept (2^31 - 1, about 24.8 days).
 * Node.js 24 runs a longer one, AbortSignal.timeout's included, after 1 ms with a
 * TimeoutOverflowWarning.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The same maximum in whole seconds, for options given in seconds (2147483). */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMEOUT_MS / 1000);

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

const MIB = 1024 * 1024;

// NOTE: an estimate. A task in a master's /state takes about 1 to 2 KiB (resources,
// statuses, container), so tens of thousands of tasks fit in 64 MiB.
/** Default maximum size of a response body from a master or agent, in bytes. */
export const DEFAULT_MAX_BODY_BYTES = 64 * MIB;

/**
 * Maximum size of a response body, in MiB, that a limit may allow: the body is parsed from
 * one string, and V8 strings hold at most `buffer.constants.MAX_STRING_LENGTH` characters.
 */
export const MAX_BODY_MIB = Math.floor(constants.MAX_STRING_LENGTH / MIB);

/** Converts a size in MiB to bytes. */
export function mibToBytes(mib: number): number {
  return mib * MIB;
}

/** Formats a size in bytes as whole MiB when it is one, else as bytes. */
export function formatSize(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}
