import { setTimeout as sleep } from 'node:timers/promises';

import { type Backoff, backoffDelay } from '../client/backoff.ts';
import { type ErrorCode, isTesseraError, TesseraError } from '../errors.ts';

/** How long `tessera exec` keeps retrying the first resolution, unless `--start-timeout` sets another. */
export const DEFAULT_START_TIMEOUT_MS = 60_000;

// Codes that can clear up on their own: no response (refused, reset, timed out), a 5xx
// from the server, or 429. Not found, denied and invalid input cannot, so they fail at once.
const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'UNREACHABLE',
  'MASTER_UNAVAILABLE',
  'RATE_LIMITED',
  'AUDIT_UNAVAILABLE',
  'INTERNAL',
]);

/** Tells whether a failed call may succeed when tried again later. */
export function isTransient(error: unknown): boolean {
  return isTesseraError(error) && TRANSIENT_CODES.has(error.code);
}

/** Options of `retryTransient`. */
export interface RetryOptions {
  /** The time after which no new attempt starts, in milliseconds from the first one. */
  deadlineMs: number;
  /** Names the operation in log lines, such as `resolving 3 secrets`. */
  what: string;
  log: (line: string) => void;
  backoff?: Backoff;
}

/**
 * Calls `operation` until it succeeds, retrying transient failures with backoff and
 * jitter and logging one line per retry. Throws a permanent failure at once, and the last
 * transient one, wrapped as UNREACHABLE with what to do next, once the deadline passes.
 */
export async function retryTransient<T>(
  operation: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const deadline = Date.now() + options.deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransient(error)) throw error;

      const delay = backoffDelay(attempt, options.backoff);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw deadlineError(error as TesseraError, options);

      const wait = Math.min(delay, remaining);
      options.log(
        `${options.what} failed (${(error as TesseraError).code}), attempt ${attempt + 1}; ` +
          `retrying in ${wait} ms`,
      );
      await sleep(wait);
    }
  }
}

function deadlineError(last: TesseraError, options: RetryOptions): TesseraError {
  const seconds = Math.round(options.deadlineMs / 1000);
  return new TesseraError(
    last.code,
    `${options.what} still failed after ${seconds} s of retries: ${last.message}; ` +
      'check the server, or raise --start-timeout',
    { ...last.details, startTimeoutMs: options.deadlineMs },
  );
}
