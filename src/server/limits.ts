import type { ServerOptions } from 'node:http';
import { TesseraError } from '../errors.ts';

/** Settings of the failed-authentication limit, per client address. */
export interface FailureLimit {
  maxFailures: number;
  windowMs: number;
}

/** Maximum number of client addresses tracked at once, so that the map cannot grow without bound. */
const MAX_TRACKED_CLIENTS = 10_000;

/**
 * Counts failed authentications per client address in a fixed window and blocks an
 * address that reaches the limit until its window ends, which slows token guessing.
 */
export class FailureLimiter {
  readonly #limit: FailureLimit;
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(limit: FailureLimit) {
    this.#limit = limit;
  }

  /** Returns the seconds a client must wait, or 0 when it may try. */
  retryAfterSeconds(client: string, now = Date.now()): number {
    const window = this.#windows.get(client);
    if (!window) return 0;
    const end = window.start + this.#limit.windowMs;
    if (now >= end) {
      this.#windows.delete(client);
      return 0;
    }
    return window.failures >= this.#limit.maxFailures ? Math.ceil((end - now) / 1000) : 0;
  }

  /** Records one failed authentication from a client. */
  recordFailure(client: string, now = Date.now()) {
    const window = this.#windows.get(client);
    if (window && now < window.start + this.#limit.windowMs) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= MAX_TRACKED_CLIENTS) {
      // Maps iterate in insertion order, so the first key is the oldest window.
      const oldest = this.#windows.keys().next().value;
      if (oldest !== undefined) this.#windows.delete(oldest);
    }
    this.#windows.set(client, { start: now, failures: 1 });
  }
}

/** How often Node's HTTP server looks for requests past their deadline, in milliseconds. */
export const DEADLINE_CHECK_MS = 500;

/**
 * Options for Node's HTTP server that cut off a client that has not sent its whole
 * request, headers included, within `requestTimeoutMs` of starting it. Node checks these
 * deadlines every `connectionsCheckingInterval` (30 s by default), so the check runs every
 * DEADLINE_CHECK_MS instead. An idle timer alone would not do: every byte resets it.
 */
export function requestDeadlineOptions(requestTimeoutMs: number): ServerOptions {
  return {
    requestTimeout: requestTimeoutMs,
    headersTimeout: requestTimeoutMs,
    connectionsCheckingInterval: DEADLINE_CHECK_MS,
  };
}

/** Throws RATE_LIMITED when a client has failed to authenticate too often. */
export function checkFailureLimit(limiter: FailureLimiter, client: string) {
  const wait = limiter.retryAfterSeconds(client);
  if (wait > 0) {
    throw new TesseraError(
      'RATE_LIMITED',
      `too many failed authentications from ${client}; retry after ${wait} s`,
      { retryAfterSeconds: wait },
    );
  }
}

/** Throws BODY_TOO_LARGE when the fields of one secret version exceed the limit. */
export function checkSecretSize(path: string, fields: Record<string, Buffer>, maxBytes: number) {
  let total = 0;
  for (const bytes of Object.values(fields)) total += bytes.length;
  if (total > maxBytes) {
    throw new TesseraError(
      'BODY_TOO_LARGE',
      `secret '${path}' is ${total} bytes; the limit is ${maxBytes} bytes (server flag --max-secret-bytes)`,
      { path, bytes: total, limit: maxBytes },
    );
  }
}
