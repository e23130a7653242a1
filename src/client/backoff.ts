/** Delays of an exponential backoff: the first one and the cap, in milliseconds. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The backoff of start retries and of change stream reconnects. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000 };

/**
 * Returns the delay before retry number `attempt` (0 for the first retry): a random value
 * between half and all of the exponential bound, so that many tasks that lost the same
 * server do not all come back at the same moment.
 */
export function backoffDelay(attempt: number, backoff: Backoff = DEFAULT_BACKOFF): number {
  const bound = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(bound / 2 + (Math.random() * bound) / 2);
}
