import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isTesseraError } from '../../src/errors.ts';
import { nextRun, parseCron, parseInterval } from '../../src/rotation/schedule.ts';

const at = (text: string) => new Date(text);

describe('schedule intervals', () => {
  it('adds the interval', () => {
    const next = nextRun(parseInterval('2h'), at('2024-01-01T00:00:00Z'));
    assert.equal(next?.toISOString(), '2024-01-01T02:00:00.000Z');
  });

  it('rejects intervals under a minute', () => {
    assert.throws(
      () => parseInterval('30s'),
      (error) => isTesseraError(error, 'INVALID_ARGUMENT'),
    );
  });
});

describe('cron expressions', () => {
  const cases: [string, string, string][] = [
    ['0 3 * * *', '2024-01-01T03:00:00Z', '2024-01-02T03:00:00.000Z'],
    ['*/15 * * * *', '2024-01-01T10:07:30Z', '2024-01-01T10:15:00.000Z'],
    ['30 2 * * 1', '2024-01-01T12:00:00Z', '2024-01-08T02:30:00.000Z'],
    ['0 0 1 */3 *', '2024-02-10T00:00:00Z', '2024-04-01T00:00:00.000Z'],
    ['0 0 13 * 5', '2024-01-01T00:00:00Z', '2024-01-05T00:00:00.000Z'],
    ['0 12 29 2 *', '2024-03-01T00:00:00Z', '2028-02-29T12:00:00.000Z'],
    ['5 4 * * 7', '2024-01-01T00:00:00Z', '2024-01-07T04:05:00.000Z'],
  ];
  for (const [expression, after, expected] of cases) {
    it(`runs ${expression} after ${after}`, () => {
      assert.equal(nextRun(parseCron(expression), at(after))?.toISOString(), expected);
    });
  }

  it('returns null for a date that never comes', () => {
    assert.equal(nextRun(parseCron('0 0 31 2 *'), at('2024-01-01T00:00:00Z')), null);
  });

  for (const bad of [
    '* * * *',
    '60 * * * *',
    '* 24 * * *',
    '5-1 * * * *',
    'x * * * *',
    '*/0 * * * *',
  ]) {
    it(`rejects '${bad}'`, () => {
      assert.throws(
        () => parseCron(bad),
        (error) => isTesseraError(error, 'INVALID_ARGUMENT'),
      );
    });
  }
});
