import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTesseraError } from '../../src/errors.ts';
import { parseSecretsVariable } from '../../src/mesos/secrets-variable.ts';

const secret = { type: 'REFERENCE', reference: { name: 'team/db' } };

function parseError(value: unknown): string {
  try {
    parseSecretsVariable(JSON.stringify(value));
  } catch (error) {
    assert.ok(isTesseraError(error, 'INVALID_TASK'), String(error));
    return error.message;
  }
  assert.fail('TESSERA_SECRETS was accepted');
}

test('parseSecretsVariable names an unknown key', () => {
  const message = parseError({
    version: 1,
    env: [{ name: 'DB', secret, mount: 'x' }],
    files: [],
  });
  assert.match(message, /env\[0\] has unknown field 'mount'; remove it/);
});

test('parseSecretsVariable names several unknown keys', () => {
  const message = parseError({ version: 1, env: [], files: [], extra: 1, more: 2 });
  assert.match(message, /\(root\) has unknown fields 'extra', 'more'; remove them/);
});
