import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvBackend } from '../../src/backends/env.ts';
import { isTesseraError } from '../../src/errors.ts';

const variables = {
  APP_DB__PASSWORD: 'ab$defgh@jk',
  APP_EMPTY: '',
  APP_QUOTES: `'single' "double"`,
  app_LOWER: 'ignored',
  OTHER: 'ignored',
  'APP_bad__..__x': 'skipped',
};

test('env: double underscore separates segments', async () => {
  const backend = new EnvBackend({ prefix: 'APP_', variables });
  const read = await backend.read('DB/PASSWORD');
  assert.equal(read.fields.value?.toString(), 'ab$defgh@jk');
  assert.deepEqual(await backend.list(''), ['DB/', 'EMPTY', 'QUOTES']);
});

test('env: empty value is present', async () => {
  const backend = new EnvBackend({ prefix: 'APP_', variables });
  const read = await backend.read('EMPTY');
  assert.equal(read.fields.value?.length, 0);
});

test('env: values are verbatim', async () => {
  const backend = new EnvBackend({ prefix: 'APP_', variables });
  assert.equal((await backend.read('QUOTES')).fields.value?.toString(), `'single' "double"`);
});

test('env: prefix is case-sensitive', async () => {
  const backend = new EnvBackend({ prefix: 'APP_', variables });
  const error = await backend.read('LOWER').catch((caught) => caught);
  assert.ok(isTesseraError(error, 'NOT_FOUND'));
  assert.equal(backend.size, 3);
});

test('env: invalid path names are skipped', () => {
  const backend = new EnvBackend({ prefix: 'APP_', variables });
  assert.deepEqual(backend.skipped, ['APP_bad__..__x']);
});

test('env: empty prefix is rejected', () => {
  assert.throws(
    () => new EnvBackend({ prefix: '', variables }),
    (error) => isTesseraError(error, 'CONFIG_INVALID'),
  );
});

test('env: server variables are withheld', async () => {
  const server = { TESSERA_TOKEN: 'tsr_canary-env-3c1f', TEST_X: 'served' };
  const backend = new EnvBackend({ prefix: 'T', variables: server });
  assert.deepEqual(await backend.list(''), ['EST_X']);
  assert.deepEqual(backend.withheld, ['TESSERA_TOKEN']);
  const error = await backend.read('ESSERA_TOKEN').catch((caught) => caught);
  assert.ok(isTesseraError(error, 'NOT_FOUND'));
});
