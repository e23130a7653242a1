import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/access/duration.ts';
import { isTesseraError } from '../../src/errors.ts';

describe('parseDuration', () => {
  const valid: [string | number, number][] = [
    ['30s', 30],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604_800],
    ['1h30m', 5400],
    ['45', 45],
    [' 2m ', 120],
    [0, 0],
    [90, 90],
  ];
  for (const [input, seconds] of valid) {
    it(`reads ${JSON.stringify(input)} as ${seconds} s`, () => {
      assert.equal(parseDuration(input, '--ttl'), seconds);
    });
  }

  const invalid: (string | number)[] = ['', '1w', '1.5h', '-1s', 'h', '1h 30m', -5, 1.5];
  for (const input of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseDuration(input, '--ttl'),
        (error) => {
          assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'));
          assert.match(
            error.message,
            /^--ttl .*is not a duration; give a whole number of seconds, or one with a unit/,
          );
          return true;
        },
      );
    });
  }

  it('rejects more than 100 years', () => {
    assert.throws(() => parseDuration('36501d', 'ttl'), /longer than the maximum of 36500d/);
  });
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [59, '59s'],
    [90, '1m30s'],
    [3600, '1h'],
    [86_405, '1d5s'],
  ];
  for (const [seconds, text] of cases) {
    it(`formats ${seconds} s as ${text}`, () => {
      assert.equal(formatDuration(seconds), text);
    });
  }
});
