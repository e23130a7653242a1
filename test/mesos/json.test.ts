import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import { locateSyntaxError, parseJson, positionAt } from '../../src/mesos/json.ts';

const casesDir = join(import.meta.dirname, '..', 'fixtures', 'cases');

function parseError(text: string, what = 'input'): TesseraError {
  try {
    parseJson(text, what);
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), `unexpected error: ${error}`);
    return error;
  }
  assert.fail('parseJson accepted invalid JSON');
}

function fourCharacterRuns(text: string): string[] {
  const runs = new Set<string>();
  for (let index = 0; index + 4 <= text.length; index += 1) {
    runs.add(text.slice(index, index + 4));
  }
  return [...runs];
}

test('parseJson returns the parsed value', () => {
  assert.deepEqual(parseJson('{"a": [1, "x", null, true]}', 'input'), { a: [1, 'x', null, true] });
});

for (const [file, line, column] of [
  ['38-docs-secret-example-unterminated-string.txt', 3, 40],
  ['40-docs-version-example-malformed.txt', 6, 3],
] as const) {
  test(`parseJson rejects ${file} by position only`, () => {
    const text = readFileSync(join(casesDir, file), 'utf8');
    const error = parseError(text, 'test input');

    assert.match(error.message, new RegExp(`at line ${line}, column ${column}`));
    assert.equal(error.details?.line, line);
    assert.equal(error.details?.column, column);
    assert.equal(error.cause, undefined);
    const shown = `${error.message}\n${JSON.stringify(error.details)}`;
    for (const run of fourCharacterRuns(text)) {
      assert.ok(!shown.includes(run), `error shows input text ${JSON.stringify(run)}`);
    }
  });
}

test('parseJson rejects a trailing comma', () => {
  const error = parseError('{"a": 1,}');
  assert.match(error.message, /^input is not valid JSON: .* at line 1, column 9;/);
});

test('parseJson rejects comments', () => {
  const error = parseError('{\n  // note\n  "a": 1\n}');
  assert.match(error.message, /at line 2, column 3/);
});

test('parseJson locates tokens V8 gives no position for', () => {
  assert.match(parseError('[1,,2]').message, /unexpected token at line 1, column 4/);
  assert.match(parseError('{"a":tru}').message, /at line 1, column 9/);
  assert.match(parseError('{\n  "a": nope\n}').message, /at line 2, column 9/);
  assert.match(parseError('\ufeff{}').message, /at line 1, column 1/);
});

test('parseJson reports the end of a truncated input', () => {
  const error = parseError('{"a":\n  ');
  assert.match(error.message, /unexpected end of input at line 2, column 3/);
});

test('parseJson never quotes a string it fails on', () => {
  const secret = 'PLACEHOLDER-zq8xv3kw';
  const runs = fourCharacterRuns(secret).filter((run) => /^[A-Za-z0-9]+$/.test(run));
  for (const text of [`"${secret}`, `{"p": "${secret}" x}`, `${secret}`, `["${secret}\n"]`]) {
    const error = parseError(text);
    const shown = `${error.message}\n${JSON.stringify(error.details)}`;
    for (const run of runs) {
      assert.ok(!shown.includes(run), `error shows ${JSON.stringify(run)}: ${error.message}`);
    }
  }
});

test('positionAt counts lines and columns from 1', () => {
  assert.deepEqual(positionAt('ab\ncd', 0), { line: 1, column: 1, offset: 0 });
  assert.deepEqual(positionAt('ab\ncd', 2), { line: 1, column: 3, offset: 2 });
  assert.deepEqual(positionAt('ab\ncd', 3), { line: 2, column: 1, offset: 3 });
  assert.deepEqual(positionAt('ab\r\ncd', 5), { line: 2, column: 2, offset: 5 });
  assert.deepEqual(positionAt('ab', 99), { line: 1, column: 3, offset: 2 });
});

test('locateSyntaxError agrees with V8 where V8 reports a position', () => {
  const inputs = [
    '{"a":1,}',
    '{"a" 1}',
    '"abc',
    '{"a":"b\nc"}',
    '01',
    '-',
    '1e',
    '1.',
    '{"a":1} x',
    '{a:1}',
    '[1 2]',
    '{"a":1 "b":2}',
    '"\\x"',
    '"\\u12"',
    '{"a":1}}',
    '{"a":1',
    '{',
    '[{"a": [1, {"b": "c"}], "d": -0.5e+3}, 2] 3',
  ];
  for (const text of inputs) {
    let reported: number | undefined;
    try {
      JSON.parse(text);
    } catch (error) {
      reported = Number(/at position (\d+)/.exec((error as Error).message)?.[1]);
    }
    assert.equal(locateSyntaxError(text), reported, JSON.stringify(text));
  }
});

test('locateSyntaxError handles deep nesting without recursion', () => {
  const text = '['.repeat(200_000);
  assert.equal(locateSyntaxError(text), text.length);
});
