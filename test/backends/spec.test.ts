import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openMounts, parseBackendSpec, parseMountSpec } from '../../src/backends/spec.ts';
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

test('mount open: missing vault token file', async () => {
  // The files are read before any request, so no Vault needs to listen at the address.
  const missing = '/nonexistent/tessera-vault-token';
  const mount = parseMountSpec(`v/=vault:http://127.0.0.1:9,token_file=${missing}`, {});
  await assert.rejects(openMounts([mount]), (error) => {
    assert.ok(isTesseraError(error, 'CONFIG_INVALID'), String(error));
    assert.match(
      error.message,
      /cannot read the Vault token file \/nonexistent\/tessera-vault-token/,
    );
    assert.match(error.message, /ENOENT/);
    return true;
  });
});

test('mount open: empty AppRole secret_id file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-spec-'));
  try {
    await writeFile(join(dir, 'role'), 'role-id\n');
    await writeFile(join(dir, 'secret'), '\n');
    const options = `role_id_file=${join(dir, 'role')},secret_id_file=${join(dir, 'secret')}`;
    const mount = parseMountSpec(`v/=vault:http://127.0.0.1:9,${options}`, {});
    await assert.rejects(openMounts([mount]), (error) => {
      assert.ok(isTesseraError(error, 'CONFIG_INVALID'), String(error));
      assert.match(error.message, /the Vault AppRole secret_id file .*secret is empty/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
