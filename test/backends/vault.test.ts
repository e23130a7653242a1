import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { VaultBackend, type VaultBackendOptions } from '../../src/backends/vault/backend.ts';
import { isTesseraError } from '../../src/errors.ts';
import { FakeVault } from '../helpers/fake-vault.ts';
import { capturedLogger, readCase } from './helpers.ts';

const TOKEN = 'hvs.PLACEHOLDER-token-file';
const FAST = { deadlineMs: 2_000, attemptTimeoutMs: 1_000, initialDelayMs: 10, maxDelayMs: 50 };

describe('Vault backend against a fake Vault', () => {
  let vault: FakeVault;
  let dir: string;
  let tokenFile: string;
  const open: VaultBackend[] = [];

  const backend = (overrides: Partial<VaultBackendOptions> = {}) => {
    const created = new VaultBackend({
      address: vault.address,
      path: '',
      auth: { method: 'token', tokenFile },
      cacheTtlMs: 0,
      timing: FAST,
      ...overrides,
    });
    open.push(created);
    return created;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-vault-'));
    tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${TOKEN}\n`);
  });
  beforeEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
    await vault?.close();
    vault = new FakeVault();
    vault.addToken(TOKEN, 3600);
    await vault.start();
  });
  after(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
    await vault.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('case 13: KV v1 path named data is read literally', async () => {
    const scenario = readCase('13-vault-kv1-path-literally-named-data.json');
    vault.mounts.set('kvv1/', { type: 'kv', version: '1' });
    vault.v1.set('kvv1/data', scenario.responses['GET /v1/kvv1/data'].body.data);
    vault.v1.set('kvv1/aaa/mysecret', scenario.responses['GET /v1/kvv1/aaa/mysecret'].body.data);
    const kv = backend({ path: 'kvv1/' });

    const literal = await kv.read('data');
    assert.equal(literal.fields.qwerty?.toString(), scenario.expected['kvv1/data#qwerty']);
    const shaped = await kv.read('aaa/mysecret');
    assert.equal(shaped.fields.data?.toString(), scenario.expected['kvv1/aaa/mysecret#data']);
    assert.equal(shaped.fields.metadata?.toString(), 'PLACEHOLDER-field-named-metadata');
    const paths = vault.seen.map((seen) => seen.path);
    assert.ok(paths.includes('kvv1/data'));
    assert.ok(!paths.some((path) => path.startsWith('kvv1/data/')), 'no v2 data/ path');
  });

  test('case 14: v1 and v2 shapes give the same bytes', async () => {
    const scenario = readCase('14-vault-kv-v1-vs-v2-response-shapes.json');
    vault.mounts.set('v1/', { type: 'kv', version: '1' });
    vault.mounts.set('v2/', { type: 'kv', version: '2' });
    vault.v1.set('v1/db', scenario.kvV1.data);
    vault.v2.set('v2/db', [{ data: {} }, { data: {} }, { data: scenario.kvV2.data.data }]);
    const kv = backend();

    const one = await kv.read('v1/db');
    const two = await kv.read('v2/db');
    assert.deepEqual(one.fields, two.fields);
    assert.equal(two.fields.password?.toString(), 'PLACEHOLDER-pass-14');
    assert.equal(two.fields.port?.toString(), '5432');
    assert.equal(two.fields.tls?.toString(), 'true');
    assert.equal(two.fields.nested?.toString(), '{"a":"b"}');
    assert.equal(two.version, scenario.expected.v2_version);
    assert.equal(one.version, undefined);
  });

  test('case 15: deleted and destroyed differ from not found', async () => {
    const scenario = readCase('15-vault-kv2-soft-deleted-version.json');
    assert.equal(scenario.cases.length, 3);
    vault.mounts.set('secret/', { type: 'kv', version: '2' });
    vault.v2.set('secret/soft', [
      { data: { a: '1' } },
      { data: { a: '2' } },
      { data: {}, deleted: true },
    ]);
    vault.v2.set('secret/gone', [{ data: { a: '1' } }, { data: {}, destroyed: true }]);
    const kv = backend();

    const deleted = await kv.read('secret/soft').catch((error) => error);
    assert.ok(isTesseraError(deleted, 'VERSION_DELETED'), String(deleted));
    assert.match(deleted.message, /version 3 is deleted/);
    const destroyed = await kv.read('secret/gone').catch((error) => error);
    assert.ok(isTesseraError(destroyed, 'VERSION_DESTROYED'), String(destroyed));
    assert.match(destroyed.message, /version 2 is destroyed/);
    const missing = await kv.read('secret/none').catch((error) => error);
    assert.ok(isTesseraError(missing, 'NOT_FOUND'), String(missing));
    assert.match(missing.message, /secret\/data\/none/);
  });

  test('case 11: v2 denial names the data/ API path', async () => {
    const scenario = readCase('11-vault-kv2-policy-missing-data-prefix.json');
    vault.mounts.set(scenario.mount.path, { type: 'kv', version: scenario.mount.options.version });
    vault.addToken(TOKEN, 3600, 3600, ['kv/team-a/service/account']);
    const { logger, text } = capturedLogger();
    const kv = backend({ logger });

    const error = await kv.read('kv/team-a/service/account').catch((caught) => caught);
    assert.ok(isTesseraError(error, 'PERMISSION_DENIED'), String(error));
    assert.ok(error.message.includes(scenario.request.path), error.message);
    assert.match(error.message, /mount 'kv\/', KV version 2/);
    assert.match(error.message, /data\/ segment/);
    assert.ok(!error.message.includes(TOKEN));
    assert.ok(!text().includes(TOKEN));
    const reads = vault.seen.filter((seen) => seen.path.startsWith('kv/'));
    assert.ok(
      reads.every((seen) => seen.path.startsWith('kv/data/')),
      'never retried as KV v1',
    );
  });

  test('nested mounts: the longest mount prefix wins', async () => {
    vault.mounts.set('team/', { type: 'kv', version: '1' });
    vault.mounts.set('team/apps/', { type: 'kv', version: '2' });
    vault.v2.set('team/apps/web', [{ data: { key: 'nested-v2' } }]);
    vault.v1.set('team/other', { key: 'outer-v1' });
    const kv = backend({ path: 'team/' });

    assert.equal((await kv.read('apps/web')).fields.key?.toString(), 'nested-v2');
    assert.equal((await kv.read('other')).fields.key?.toString(), 'outer-v1');
    assert.ok(vault.seen.some((seen) => seen.path === 'team/apps/data/web'));
  });

  test('mount table falls back to sys/mounts', async () => {
    vault.uiMounts = false;
    vault.mounts.set('old/', { type: 'generic', version: '1' });
    vault.v1.set('old/x', { value: 'from-sys-mounts' });
    const kv = backend();
    assert.equal((await kv.read('old/x')).fields.value?.toString(), 'from-sys-mounts');
  });

  test('case 16: expired token logs in once more', async () => {
    const scenario = readCase('16-vault-token-expired-403.json');
    vault.mounts.set('secret/', { type: 'kv', version: '2' });
    const expected = scenario.sequence.at(-1).body.data.data;
    vault.v2.set('secret/example-team/db', [{ data: expected }]);
    const files = await approleFiles(dir, vault);
    const { logger, text } = capturedLogger();
    const kv = backend({ auth: { method: 'approle', ...files, mount: 'approle' }, logger });

    assert.equal(
      (await kv.read('secret/example-team/db')).fields.password?.toString(),
      'PLACEHOLDER-pass-16',
    );
    const first = [...vault.tokens.keys()].at(-1) as string;
    vault.expire(first);
    const again = await kv.read('secret/example-team/db');
    assert.equal(again.fields.password?.toString(), 'PLACEHOLDER-pass-16');
    const logins = vault.seen.filter((seen) => seen.path === 'auth/approle/login');
    assert.equal(logins.length, 2);
    for (const token of vault.tokens.keys()) assert.ok(!text().includes(token));
  });

  test('case 16: a persistent 403 is an auth error', async () => {
    vault.mounts.set('secret/', { type: 'kv', version: '2' });
    vault.v2.set('secret/example-team/db', [{ data: { password: 'x' } }]);
    vault.expire(TOKEN);
    const kv = backend();

    const error = await kv.read('secret/example-team/db').catch((caught) => caught);
    assert.ok(isTesseraError(error, 'BACKEND_AUTH_FAILED'), String(error));
    assert.doesNotMatch(error.message, /not found/);
    assert.ok(!error.message.includes(TOKEN));
    const reads = vault.seen.filter((seen) => seen.path === 'secret/data/example-team/db');
    assert.equal(reads.length, 0, 'the mount table read failed first, so no read was sent');
    assert.equal(
      vault.seen.filter((seen) => seen.path === 'auth/token/lookup-self').length >= 2,
      true,
    );
  });

  test('case 16: renew-self max_ttl warning is logged', async () => {
    vault.addToken(TOKEN, 2, 3);
    const { logger, text } = capturedLogger();
    const kv = backend({ logger });
    vault.mounts.set('secret/', { type: 'kv', version: '2' });
    vault.v2.set('secret/a', [{ data: { v: '1' } }]);
    await kv.read('secret/a');
    await waitFor(() => text().includes('max_ttl'), 3_000);
    assert.match(text(), /vault warning/);
    assert.match(text(), /exceeded the effective max_ttl/);
    assert.ok(!text().includes(TOKEN));

    // The lease is capped, so renewals come every second until it ends; one line is enough.
    const renewals = () => vault.seen.filter((seen) => seen.path === 'auth/token/renew-self');
    await waitFor(() => renewals().length >= 2, 4_000);
    assert.ok(renewals().length >= 2, `only ${renewals().length} renewals`);
    assert.equal((text().match(/vault warning/g) ?? []).length, 1);
  });

  test('transient errors are retried until success', async () => {
    vault.mounts.set('secret/', { type: 'kv', version: '2' });
    vault.v2.set('secret/a', [{ data: { v: 'after-retries' } }]);
    vault.faults.push(503, 500, 429);
    const { logger, text } = capturedLogger();
    const kv = backend({ logger });
    assert.equal((await kv.read('secret/a')).fields.v?.toString(), 'after-retries');
    assert.equal((text().match(/vault retry/g) ?? []).length, 3);
  });

  test('transient errors past the deadline are UNREACHABLE', async () => {
    vault.mounts.set('secret/', { type: 'kv', version: '2' });
    vault.faults.push(...Array(50).fill(503));
    const kv = backend({ timing: { ...FAST, deadlineMs: 300 } });
    const started = Date.now();
    const error = await kv.read('secret/a').catch((caught) => caught);
    assert.ok(isTesseraError(error, 'UNREACHABLE'), String(error));
    assert.ok(Date.now() - started < 2_000);
    assert.equal(kv.health().ok, false);
  });

  test('cache serves within its TTL only', async () => {
    vault.mounts.set('secret/', { type: 'kv', version: '2' });
    vault.v2.set('secret/a', [{ data: { v: 'one' } }]);
    const kv = backend({ cacheTtlMs: 200 });
    assert.equal((await kv.read('secret/a')).fields.v?.toString(), 'one');
    vault.v2.get('secret/a')?.push({ data: { v: 'two' } });
    assert.equal((await kv.read('secret/a')).fields.v?.toString(), 'one');
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal((await kv.read('secret/a')).fields.v?.toString(), 'two');
  });

  test('address with credentials is rejected', () => {
    assert.throws(
      () => backend({ address: 'http://user:PLACEHOLDER-pw@127.0.0.1:1' }),
      (error: Error) =>
        isTesseraError(error, 'CONFIG_INVALID') && !error.message.includes('PLACEHOLDER-pw'),
    );
  });
});

async function approleFiles(dir: string, vault: FakeVault) {
  const roleIdFile = join(dir, 'role-id');
  const secretIdFile = join(dir, 'secret-id');
  await writeFile(roleIdFile, vault.approle.roleId);
  await writeFile(secretIdFile, `${vault.approle.secretId}\n`);
  return { roleIdFile, secretIdFile };
}

async function waitFor(check: () => boolean, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (!check() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
}
