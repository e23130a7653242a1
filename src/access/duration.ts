import { z } from 'zod';
import { TesseraError } from '../errors.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** The maximum duration accepted, 100 years in seconds, so that every expiry is a valid date. */
export const MAX_DURATION_SECONDS = 100 * 365 * 86_400;

/** A duration in a JSON document: seconds, or text for `parseDuration`, as Vault takes it. */
export const DURATION_INPUT = z.union([z.number(), z.string().max(40)], {
  error: (issue) =>
    issue.input === undefined
      ? undefined
      : 'must be a number of seconds or a duration such as "1h"',
});

const DURATION = /^(\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;

/**
 * Parses a duration into whole seconds: a number of seconds, or text such as `30s`, `15m`,
 * `1h`, `7d` or `1h30m` (units s, m, h and d). Plain digits in text are seconds, as in
 * Vault's API. `what` names the value in messages, as in `--ttl`. Throws INVALID_ARGUMENT.
 */
export function parseDuration(value: string | number, what: string): number {
  const seconds = typeof value === 'number' ? value : secondsOf(value.trim(), what);
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw invalidDuration(String(value), what);
  }
  if (seconds > MAX_DURATION_SECONDS) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${what} is longer than the maximum of ${formatDuration(MAX_DURATION_SECONDS)}; ` +
        'give a shorter duration',
    );
  }
  return seconds;
}

/** Formats seconds as a duration such as `1d2h5s`, in the units `parseDuration` reads. */
export function formatDuration(seconds: number): string {
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  let rest = Math.max(0, Math.floor(seconds));
  let text = '';
  for (const [unit, size] of units) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0) {
      text += `${amount}${unit}`;
    }
  }
  return text || '0s';
}

function secondsOf(text: string, what: string): number {
  if (/^\d+$/.test(text)) {
    return Number(text);
  }
  if (!DURATION.test(text)) {
    throw invalidDuration(text, what);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return total;
}

function invalidDuration(text: string, what: string): TesseraError {
  const shown = text.length <= 40 ? ` '${text}'` : '';
  return new TesseraError(
    'INVALID_ARGUMENT',
    `${what}${shown} is not a duration; give a whole number of seconds, or one with a ` +
      'unit s, m, h or d, as in 90, 30s, 15m, 1h30m or 7d',
  );
}
