import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTesseraError } from '../../src/errors.ts';
import {
  checkNesting,
  findDuplicateKey,
  MAX_NESTING,
  parseDefinitionJson,
} from '../../src/mesos/definition-json.ts';

function parseError(text: string): { message: string; details: unknown } {
  try {
    parseDefinitionJson(text, 'app.json');
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_ARGUMENT'), String(error));
    return { message: error.message, details: error.details };
  }
  assert.fail('the text was accepted');
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

test('parseDefinitionJson ignores a byte order mark', () => {
  assert.deepEqual(parseDefinitionJson('\uFEFF{"a":1}', 'app.json'), { a: 1 });
});

test('parseDefinitionJson rejects a key given twice', () => {
  const { message, details } = parseError('{"id": "/x",\n  "cmd": "a", "cmd": "b"}');
  assert.match(
    message,
    /^app\.json has the key 'cmd' twice in one object, the second at line 2, column 15/,
  );
  assert.deepEqual(details, { line: 2, column: 15 });
});

test('findDuplicateKey compares decoded keys', () => {
  assert.deepEqual(findDuplicateKey('{"a": 1, "\\u0061": 2}'), { key: 'a', offset: 9 });
  assert.equal(findDuplicateKey('{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}'), undefined);
  assert.equal(findDuplicateKey('{"a": "a", "b": ["a", "a"], "c": "\\"a"}'), undefined);
  assert.equal(findDuplicateKey('[{"k": 1}, {"k": 2}]'), undefined);
  assert.deepEqual(findDuplicateKey('[{"k": 1, "j": {}, "k": 2}]'), { key: 'k', offset: 19 });
});

test('parseDefinitionJson keeps number text exactly', () => {
  const text = '{"big":9007199254740993,"ns":1470820172046531840,"f":1.50,"e":1e3,"n":-0,"i":7}';
  const value = parseDefinitionJson(text, 'task.json', { exactNumbers: true });
  assert.equal(JSON.stringify(value), text);
  assert.equal((value as { i: unknown }).i, 7);
});

test('parseDefinitionJson rejects too deep nesting', () => {
  assert.doesNotThrow(() => parseDefinitionJson(nested(MAX_NESTING), 'task.json'));
  const { message } = parseError(nested(100_000));
  assert.match(message, /^app\.json nests arrays and objects more than 1000 levels deep/);
});

test('checkNesting walks wide and deep values', () => {
  assert.doesNotThrow(() => checkNesting(new Array(200_000).fill({ a: [1] }), 'wide'));
  let deep: unknown = 1;
  for (let level = 0; level <= MAX_NESTING; level += 1) deep = { a: deep };
  assert.throws(() => checkNesting(deep, 'deep'), /deep nests arrays and objects more than/);
});
