import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBackendSpec, parseMountSpec } from '../../src/backends/spec.ts';
import { isTesseraError } from '../../src/errors.ts';

test('mount spec: file with dcos_base64', () => {
  const parsed = parseMountSpec('ext=file:/etc/s.json,dcos_base64', {});
  assert.equal(parsed.prefix, 'ext/');
  assert.deepEqual(parsed.spec, { kind: 'file', file: '/etc/s.json', dcosBase64: true });
});

test('mount spec: root env prefix', () => {
  const parsed = parseMountSpec('/=env:APP_', { APP_X: '1' });
  assert.equal(parsed.prefix, '');
  assert.equal(parsed.spec.kind, 'env');
});

test('mount spec: vault with AppRole', () => {
  const parsed = parseMountSpec(
    'v/=vault:https://vault.example:8200,path=kv/,role_id_file=/r,secret_id_file=/s,cache_ttl=2',
    {},
  );
  assert.equal(parsed.spec.kind, 'vault');
  if (parsed.spec.kind !== 'vault') return;
  assert.equal(parsed.spec.auth.method, 'approle');
  assert.equal(parsed.spec.cacheTtlMs, 2000);
});

test('mount spec: vault without credentials', () => {
  assert.throws(
    () => parseMountSpec('v/=vault:https://vault.example:8200', {}),
    (error) => isTesseraError(error, 'CONFIG_INVALID'),
  );
});

test('mount spec: unknown kind', () => {
  assert.throws(
    () => parseMountSpec('v/=consul:x', {}),
    (error) => isTesseraError(error, 'CONFIG_INVALID'),
  );
});

test('mount spec: empty env prefix names the flag', () => {
  assert.throws(
    () => parseMountSpec('e/=env:', { TESSERA_TOKEN: 'tsr_x' }),
    (error) =>
      isTesseraError(error, 'CONFIG_INVALID') &&
      /--mount has an empty environment variable prefix/.test(error.message),
  );
});

test('mount spec: TESSERA_ env prefix is rejected', () => {
  assert.throws(
    () => parseMountSpec('e/=env:TESSERA_', {}),
    (error) => isTesseraError(error, 'CONFIG_INVALID') && /TESSERA_/.test(error.message),
  );
});

test('backend spec: env prefix error names its flag', () => {
  assert.throws(
    () => parseBackendSpec('env:TESSERA_X', {}, '--secrets_env_prefix'),
    (error) =>
      isTesseraError(error, 'CONFIG_INVALID') && /^--secrets_env_prefix /.test(error.message),
  );
});
