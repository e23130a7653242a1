import { parseDuration } from '../access/duration.ts';
import { TesseraError } from '../errors.ts';

/** When a rotation runs: every `intervalSeconds`, or at the times a cron expression names. */
export type Schedule =
  | { kind: 'interval'; intervalSeconds: number }
  | { kind: 'cron'; expression: string; fields: CronFields };

/** The allowed values of each of the five cron fields. */
export interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  /** Whether day of month and day of week were both restricted: then either may match. */
  eitherDay: boolean;
}

/** The shortest interval: a hook runs four steps, and a tighter loop would only pile up. */
export const MIN_INTERVAL_SECONDS = 60;

const FIELD_RANGES: [string, number, number][] = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 7],
];

/** Cron looks at most this far ahead; an expression such as `0 0 31 2 *` never matches. */
const SEARCH_DAYS = 366 * 5;

/** Parses an interval such as `30d` or `12h`. Throws INVALID_ARGUMENT. */
export function parseInterval(text: string): Schedule {
  const intervalSeconds = parseDuration(text, 'schedule interval');
  if (intervalSeconds < MIN_INTERVAL_SECONDS) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `schedule interval must be at least ${MIN_INTERVAL_SECONDS}s; give a longer duration`,
    );
  }
  return { kind: 'interval', intervalSeconds };
}

/**
 * Parses a five-field cron expression (minute, hour, day of month, month, day of week) as
 * crontab(5) reads it: `*`, numbers, ranges `a-b`, lists `a,b` and steps `/n`; Sunday is
 * 0 or 7. When both day fields are restricted, a day matching either runs. Times are UTC.
 * Throws INVALID_ARGUMENT naming the field.
 */
export function parseCron(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `cron expression has ${parts.length} fields, not 5 (minute hour day-of-month month ` +
        'day-of-week); for example 0 3 * * 1 runs at 03:00 UTC each Monday',
    );
  }
  const sets = parts.map((part, index) => parseField(part, index));
  const daysOfWeek = sets[4] as Set<number>;
  if (daysOfWeek.delete(7)) daysOfWeek.add(0);
  const fields: CronFields = {
    minutes: sets[0] as Set<number>,
    hours: sets[1] as Set<number>,
    daysOfMonth: sets[2] as Set<number>,
    months: sets[3] as Set<number>,
    daysOfWeek,
    eitherDay: !parts[2]?.startsWith('*') && !parts[4]?.startsWith('*'),
  };
  return { kind: 'cron', expression: parts.join(' '), fields };
}

/**
 * Returns the next run strictly after `after`, or null when a cron expression names no
 * date within five years.
 */
export function nextRun(schedule: Schedule, after: Date): Date | null {
  if (schedule.kind === 'interval') {
    return new Date(after.getTime() + schedule.intervalSeconds * 1000);
  }
  const { fields } = schedule;
  const start = new Date(after.getTime());
  start.setUTCSeconds(0, 0);
  start.setUTCMinutes(start.getUTCMinutes() + 1);

  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  for (let count = 0; count < SEARCH_DAYS; count++) {
    if (dayMatches(fields, day)) {
      const time = firstTimeOn(fields, day, count === 0 ? start : day);
      if (time !== null) return time;
    }
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return null;
}

function dayMatches(fields: CronFields, day: Date): boolean {
  if (!fields.months.has(day.getUTCMonth() + 1)) return false;
  const byMonth = fields.daysOfMonth.has(day.getUTCDate());
  const byWeek = fields.daysOfWeek.has(day.getUTCDay());
  return fields.eitherDay ? byMonth || byWeek : byMonth && byWeek;
}

function firstTimeOn(fields: CronFields, day: Date, from: Date): Date | null {
  const hours = [...fields.hours].sort((a, b) => a - b);
  const minutes = [...fields.minutes].sort((a, b) => a - b);
  for (const hour of hours) {
    for (const minute of minutes) {
      const time = new Date(day.getTime() + (hour * 60 + minute) * 60_000);
      if (time.getTime() >= from.getTime()) return time;
    }
  }
  return null;
}

function parseField(text: string, index: number): Set<number> {
  const [name, min, max] = FIELD_RANGES[index] as [string, number, number];
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (match === null) throw invalidField(name, text);
    const low = match[1] === '*' ? min : Number(match[2]);
    const high = match[1] === '*' ? max : Number(match[3] ?? (match[4] ? max : match[2]));
    const step = Number(match[4] ?? 1);
    if (low < min || high > max || low > high || step < 1) throw invalidField(name, text);
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

function invalidField(name: string, text: string): TesseraError {
  const shown = text.length <= 40 ? ` '${text}'` : '';
  return new TesseraError(
    'INVALID_ARGUMENT',
    `cron ${name} field${shown} is invalid; use *, a number, a range a-b, a list a,b or a ` +
      'step /n within the field range',
  );
}
