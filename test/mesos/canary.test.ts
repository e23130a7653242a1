import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { isTesseraError } from '../../src/errors.ts';
import { decodeBase64 } from '../../src/mesos/base64.ts';
import { parseJson } from '../../src/mesos/json.ts';
import { parseSecretsFile } from '../../src/mesos/secrets-file.ts';
import { readTask, readTaskText } from '../../src/mesos/task.ts';

// A planted secret. Every error below is raised on input that contains it, and none
// of their messages, details or stacks may contain any 6-character run of it, in plain text or
// in any of the encodings listed.
const CANARY = 'PLACEHOLDER-qz7x9k2v-w4j8';
const CANARY_BASE64 = Buffer.from(CANARY).toString('base64');
const ENCODINGS = [
  CANARY,
  CANARY_BASE64,
  Buffer.from(`${CANARY}\0`).toString('base64'),
  Buffer.from(CANARY).toString('base64url'),
  encodeURIComponent(CANARY),
];
const FORBIDDEN = [
  ...new Set(
    ENCODINGS.flatMap((text) => [...text].map((_, index) => text.slice(index, index + 6))),
  ),
].filter((run) => run.length === 6);

function secretValue(data: string) {
  return { type: 'VALUE', value: { data } };
}

const canaryReference = { type: 'REFERENCE', reference: { name: '/team/db' } };

const variables = [
  { name: 'STRAY_VALUE', type: 'SECRET', value: CANARY, secret: canaryReference },
  {
    name: 'WITH_NUL',
    type: 'SECRET',
    secret: secretValue(Buffer.from(`${CANARY}\0`).toString('base64')),
  },
  { name: 'NOT_BASE64', type: 'SECRET', secret: secretValue(`${CANARY}==`) },
  { name: 'UNPADDED', type: 'SECRET', secret: secretValue(CANARY_BASE64.replace(/=+$/, '')) },
  { name: 'UNTYPED', type: 'SECRET', secret: { value: { data: CANARY_BASE64 } } },
  {
    name: 'REF_WITH_VALUE',
    type: 'SECRET',
    secret: { ...canaryReference, value: { data: CANARY_BASE64 } },
  },
  {
    name: 'VALUE_WITH_REF',
    type: 'SECRET',
    secret: { ...secretValue(CANARY_BASE64), reference: { name: '/x' } },
  },
  { name: 'PLAIN_WITH_SECRET', type: 'VALUE', value: CANARY, secret: secretValue(CANARY_BASE64) },
  { name: 'UNKNOWN_TYPE', type: 'UNKNOWN', value: CANARY },
  { name: 'PLAIN_WITH_SECRET', value: CANARY },
  { name: 'EMPTY_NAME', type: 'SECRET', secret: { type: 'REFERENCE', reference: { name: '' } } },
];

function volume(containerPath: string, secret: unknown, extra: Record<string, unknown> = {}) {
  return {
    mode: 'RO',
    container_path: containerPath,
    source: { type: 'SECRET', secret },
    ...extra,
  };
}

const volumes = [
  volume('../escape', secretValue(CANARY_BASE64)),
  volume('secrets/', secretValue(`${CANARY}=`)),
  volume('', secretValue(CANARY_BASE64)),
  volume('ctl\u0001', secretValue(CANARY_BASE64)),
  volume('host', secretValue(CANARY_BASE64), { host_path: '/tmp' }),
  volume('untyped', { value: { data: CANARY_BASE64 } }),
  volume('both', { ...secretValue(CANARY_BASE64), reference: { name: '/x' } }),
  volume('dup', secretValue(CANARY_BASE64)),
  volume('dup', secretValue(CANARY_BASE64)),
  volume('dup/inner', secretValue(CANARY_BASE64)),
];

function taskWith(type: string): unknown {
  return {
    name: 'planted',
    task_id: { value: 'planted.1' },
    command: { value: 'true', environment: { variables } },
    container: { type, volumes },
  };
}

function secretsFile(): string {
  const entries = [
    { reference: { name: '/a' }, value: { data: `${CANARY}` } },
    { reference: { name: '/b' }, value: { data: CANARY_BASE64.replace(/=+$/, '') } },
    { reference: { name: '' }, value: { data: CANARY_BASE64 } },
    { reference: { name: '/c' }, value: { data: CANARY_BASE64, extra: CANARY } },
    { reference: { name: '/d' }, value: { data: CANARY_BASE64 }, stray: CANARY },
    { reference: { name: '/e' }, value: { data: CANARY_BASE64 } },
    { reference: { name: 'e' }, value: { data: CANARY_BASE64 } },
    { reference: { name: '/f' }, value: { data: { nested: CANARY } } },
    { reference: { name: '/g' }, value: CANARY },
    CANARY,
  ];
  return JSON.stringify(entries);
}

// Raises each error and returns everything a caller could print of it.
function everyErrorText(): string[] {
  const raisers: (() => unknown)[] = [
    () => readTaskText(JSON.stringify(taskWith('MESOS')), 'planted-mesos.json'),
    () => readTaskText(JSON.stringify(taskWith('DOCKER')), 'planted-docker.json'),
    () =>
      readTask({
        name: 'c',
        task_id: { value: 'c' },
        command: { environment: { variables: [{ name: 'X', type: CANARY }] } },
      }),
    () =>
      readTask({
        name: 'c',
        task_id: { value: 'c' },
        container: { type: CANARY, volumes: [{ container_path: 'x', mode: CANARY }] },
      }),
    () =>
      readTask({
        name: 'c',
        task_id: { value: 'c' },
        command: { environment: { variables: [{ name: 'X', secret: { value: CANARY } }] } },
      }),
    () =>
      readTask({
        type: 'LAUNCH',
        launch: { task_infos: [{ name: CANARY.length, task_id: CANARY }] },
      }),
    () => readTaskText(`{"name": "c", "command": {"value": "${CANARY}`, 'truncated.json'),
    () => readTaskText(`{"secret": {"value": {"data": "${CANARY}\n"}}}`, 'newline.json'),
    () => parseJson(`[${CANARY}]`, 'bare.json'),
    () => parseJson(`{"data": "${CANARY}", }`, 'trailing.json'),
    () => decodeBase64(`${CANARY_BASE64}\n`, 'value.data'),
    () => decodeBase64(CANARY, 'value.data'),
    () => parseSecretsFile(secretsFile(), 'planted-secrets.json'),
    () =>
      parseSecretsFile(`[{"reference": {"name": "/a"}, "value": {"data": "${CANARY}`, 'cut.json'),
  ];

  return raisers.map(errorText);
}

function errorText(raise: () => unknown): string {
  try {
    raise();
  } catch (error) {
    assert.ok(isTesseraError(error), `unexpected error: ${error}`);
    assert.equal(error.cause, undefined);
    return [error.message, JSON.stringify(error.details), error.stack, inspect(error)].join('\n');
  }
  assert.fail('an input holding the canary was accepted');
}

test('canary input reaches every error path', () => {
  assert.ok(CANARY_BASE64.endsWith('=='), 'the unpadded variant must differ from the padded one');
  const text = everyErrorText().join('\n');
  const paths = [
    "of type 'SECRET' must not have a value set",
    'specifies a secret containing null bytes',
    'secret.value.data is not valid base64',
    'has a secret without a type',
    "of type REFERENCE must not have the 'value' field set",
    "Secret of type VALUE must not have the 'reference' field set",
    "of type 'VALUE' must not have a secret set",
    "Environment variable of type 'UNKNOWN' is not allowed",
    'is set more than once',
    'reference.name must not be empty',
    "has a '..' segment",
    "ends with '/'",
    'container_path is empty',
    'has a control character',
    "Only one of them should be set: 'host_path', 'image' and 'source'",
    'Invalid secret specified in volume',
    'uses the same container_path',
    'is inside',
    'delivers secret variables as empty strings',
    'skips secret volumes',
    'must be one of',
    'must be an object',
    'is not valid JSON',
    'entry 0: value.data is not valid base64',
    'entry 3: value has an unknown field',
    'entry 4 has an unknown field',
    'entries 5 and 6 both define',
    'value.data must be a base64 string',
    'entry 8: value must be an object',
    'entry 9 must be an object',
  ];
  for (const path of paths) {
    assert.ok(text.includes(path), `no error took the path: ${path}`);
  }
});

test('canary never appears in an error', () => {
  for (const text of everyErrorText()) {
    for (const forbidden of FORBIDDEN) {
      assert.ok(!text.includes(forbidden), `an error shows ${forbidden}:\n${text}`);
    }
  }
});
