import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { isTesseraError, type TesseraError } from '../../src/errors.ts';
import { type EntryProblem, parseSecretsFile } from '../../src/mesos/secrets-file.ts';

const casesDir = join(import.meta.dirname, '..', 'fixtures', 'cases');

function readCase(file: string): string {
  return readFileSync(join(casesDir, file), 'utf8');
}

function fileError(text: string): TesseraError {
  try {
    parseSecretsFile(text, 'secrets.json');
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_SECRETS_FILE'), `unexpected error: ${error}`);
    return error;
  }
  assert.fail('the secrets file was accepted');
}

function problemsOf(error: TesseraError): EntryProblem[] {
  return error.details?.problems as EntryProblem[];
}

interface BackendCase {
  name: string;
  fileBackend?: unknown[];
}

const backendCases = (
  JSON.parse(readCase('33-empty-secret-and-empty-source.json')) as { cases: BackendCase[] }
).cases;

function backendOf(name: string): string {
  const entries = backendCases.find((entry) => entry.name === name)?.fileBackend;
  assert.ok(entries, `case 33 has no fileBackend named ${name}`);
  return JSON.stringify(entries);
}

test('parseSecretsFile accepts zero-length data', () => {
  const [entry, ...rest] = parseSecretsFile(backendOf('backend_empty_data'), 'secrets.json');

  assert.equal(rest.length, 0);
  assert.equal(entry?.name, '/empty');
  assert.equal(entry?.data.length, 0);
});

test('parseSecretsFile rejects an entry without value', () => {
  const error = fileError(backendOf('backend_missing_value'));

  assert.match(error.message, /entry 0: value\.data is missing/);
  assert.deepEqual(
    problemsOf(error).map((problem) => problem.entry),
    [0],
  );
});

test('parseSecretsFile reads the 1 MiB file with exact sizes', () => {
  const text = readCase('34-oversize-secret-1mib.json');
  const started = performance.now();
  const entries = parseSecretsFile(text, '34-oversize-secret-1mib.json');
  const elapsedMs = performance.now() - started;

  assert.deepEqual(
    entries.map((entry) => [entry.name, entry.data.length]),
    [
      ['/example-team/big-bundle-1mib', 1048576],
      ['/example-team/env-at-limit', 131063],
      ['/example-team/env-over-limit', 131064],
    ],
  );
  // Linear work takes milliseconds here; quadratic work on 1.4 million characters of
  // base64 would take minutes.
  assert.ok(elapsedMs < 2000, `parsing took ${elapsedMs} ms`);
});

test('parseSecretsFile reads many entries in linear time', () => {
  const entries = Array.from({ length: 20_000 }, (_, index) => ({
    reference: { name: `/team/secret-${index}`, key: 'k' },
    value: { data: Buffer.from(`value-${index}`).toString('base64') },
  }));
  const started = performance.now();
  const parsed = parseSecretsFile(JSON.stringify(entries), 'many.json');
  const elapsedMs = performance.now() - started;

  assert.equal(parsed.length, 20_000);
  assert.ok(elapsedMs < 2000, `parsing took ${elapsedMs} ms`);
});

test('parseSecretsFile rejects malformed JSON by position only', () => {
  const text = readCase('38-docs-secret-example-unterminated-string.txt');
  const error = fileError(text);

  assert.match(error.message, /^secrets\.json is not valid JSON: .* at line 3, column 40;/);
  assert.equal(error.details?.source, 'secrets.json');
  assert.ok(!error.message.includes('PLACEHOLDER'), error.message);
});

test('parseSecretsFile rejects a document that is not an array', () => {
  const error = fileError('{"reference": {"name": "/a"}, "value": {"data": ""}}');
  assert.match(error.message, /must contain a JSON array/);
});

test('parseSecretsFile rejects bad entries by index', () => {
  const entries = [
    { reference: { name: '/ok' }, value: { data: 'eA==' } },
    'not an object',
    { value: { data: '' } },
    { reference: { name: '' }, value: { data: '' } },
    { reference: { name: '/' }, value: { data: '' } },
    { reference: { name: 7 }, value: { data: '' } },
    { reference: { name: '/k', key: '' }, value: { data: '' } },
    { reference: { name: '/d' }, value: {} },
    { reference: { name: '/d' }, value: { data: 5 } },
    { reference: { name: '/d' }, value: { data: 'eA' } },
    { reference: { name: '/d' }, value: { data: '' }, type: 'VALUE' },
    { reference: { name: '/d', path: 'x' }, value: { data: '' } },
  ];
  const error = fileError(JSON.stringify(entries));
  const messages = problemsOf(error).map((problem) => problem.message);

  assert.deepEqual(
    messages.map((message) => message.split(/[;:]| must| has/)[0]),
    [
      'entry 1',
      'entry 2',
      'entry 3',
      'entry 4',
      'entry 5',
      'entry 6',
      'entry 7',
      'entry 8',
      'entry 9',
      'entry 10',
      'entry 11',
    ],
  );
  assert.match(messages[1] ?? '', /reference is missing/);
  assert.match(messages[2] ?? '', /reference\.name must not be empty/);
  assert.match(messages[3] ?? '', /reference\.name must not be empty/);
  assert.match(messages[4] ?? '', /reference\.name must be a string/);
  assert.match(messages[5] ?? '', /reference\.key must be a non-empty string/);
  assert.match(messages[6] ?? '', /value\.data is missing/);
  assert.match(messages[7] ?? '', /value\.data must be a base64 string/);
  assert.match(messages[8] ?? '', /value\.data is not valid base64/);
  assert.match(messages[9] ?? '', /has an unknown field; the allowed/);
  assert.match(messages[10] ?? '', /has an unknown field; the allowed/);
  assert.equal(error.message.split('\n').length, 12);
});

test('parseSecretsFile rejects duplicates naming both entries', () => {
  const entries = [
    { reference: { name: '/db', key: 'password' }, value: { data: '' } },
    { reference: { name: '/db' }, value: { data: '' } },
    { reference: { name: 'db', key: 'password' }, value: { data: 'eA==' } },
    { reference: { name: 'db', key: 'value' }, value: { data: '' } },
    { reference: { name: '/db', key: 'user' }, value: { data: '' } },
  ];
  const problems = problemsOf(fileError(JSON.stringify(entries)));

  assert.deepEqual(
    problems.map((problem) => problem.message),
    [
      "entries 0 and 2 both define secret 'db' field 'password'; keep one of them",
      "entries 1 and 3 both define secret 'db' field 'value'; keep one of them",
    ],
  );
});

test('parseSecretsFile lists at most 20 entries in the message', () => {
  const entries = Array.from({ length: 25 }, () => ({ reference: { name: '' } }));
  const error = fileError(JSON.stringify(entries));

  assert.equal(problemsOf(error).length, 25);
  assert.match(error.message, /\n {2}\.\.\. and 5 more$/);
});

test('parseSecretsFile entries print without their bytes', () => {
  const data = Buffer.from('PLACEHOLDER-printed');
  const text = JSON.stringify([
    { reference: { name: '/p', key: 'k' }, value: { data: data.toString('base64') } },
  ]);
  const [entry] = parseSecretsFile(text, 'secrets.json');

  assert.deepEqual(entry?.data, data);
  assert.equal(entry?.key, 'k');
  assert.ok(!inspect(entry).includes('PLACEHOLDER'), inspect(entry));
  assert.ok(!inspect(entry).includes('50 4c'), inspect(entry));
  assert.equal(JSON.stringify(entry), '{"name":"/p","key":"k","data":"[19 bytes]"}');
});
