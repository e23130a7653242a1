import type { Logger } from 'pino';

import type { Store } from '../store/store.ts';
import { isExpired } from './tokens.ts';

/** How often a server removes expired tokens from the store, by default. */
export const TOKEN_TIDY_INTERVAL_MS = 10 * 60_000;

/**
 * Removes every expired token, with its descendants, and returns how many tokens went.
 * An expired token already fails to authenticate; this only keeps the store from growing
 * with the tokens of tasks that ended long ago.
 */
export async function removeExpiredTokens(store: Store, now: number = Date.now()): Promise<number> {
  let removed = 0;
  for (const accessor of await store.listTokenAccessors()) {
    const record = await store.findTokenByAccessor(accessor);
    // A descendant of a token removed earlier in this loop is already gone.
    if (record === undefined || !isExpired(record, now)) continue;
    removed += (await store.deleteToken(accessor)).length;
  }
  return removed;
}

/**
 * Removes expired tokens now and then every `intervalMs`, logging how many went. Returns
 * the function that stops it and waits for a removal under way.
 */
export function startTokenTidy(
  store: Store,
  logger: Logger,
  intervalMs: number = TOKEN_TIDY_INTERVAL_MS,
): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const tidy = () => {
    running = removeExpiredTokens(store)
      .then((removed) => {
        if (removed > 0) logger.info({ removed }, 'removed expired tokens');
      })
      .catch((error: unknown) => {
        logger.error({ error: (error as Error).name }, 'failed to remove expired tokens');
      });
  };
  const timer = setInterval(tidy, intervalMs);
  timer.unref();
  tidy();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
