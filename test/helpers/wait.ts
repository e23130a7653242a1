import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** Checks `check` every 20 ms until it holds, and fails naming `what` after `ms`. */
export async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting until ${what}`);
    await sleep(20);
  }
}
