import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { VaultBackend } from '../../src/backends/vault/backend.ts';
import { isTesseraError } from '../../src/errors.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

let upstream: TestServer;
let dir: string;
let backend: VaultBackend;

before(async () => {
  upstream = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'tessera-upstream-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, upstream.rootToken);
  backend = new VaultBackend({
    address: upstream.address,
    path: 'secret/',
    auth: { method: 'token', tokenFile },
    // Tessera serves no mount table, so the KV v2 mount is given.
    kv: { path: 'secret/', version: 2 },
    cacheTtlMs: 0,
  });
});
after(async () => {
  await backend.close();
  await upstream.close();
  await rm(dir, { recursive: true, force: true });
});

test('Tessera upstream: reads current version', async () => {
  await request(upstream, 'POST', '/v1/secret/data/team/db', { data: { password: 'one' } });
  await request(upstream, 'POST', '/v1/secret/data/team/db', {
    data: { password: 'two', port: '5432' },
  });
  const read = await backend.read('team/db');
  assert.equal(read.fields.password?.toString(), 'two');
  assert.equal(read.version, 2);
  assert.equal((await backend.read('team/db', 1)).fields.password?.toString(), 'one');
});

test('Tessera upstream: deleted version is VERSION_DELETED', async () => {
  await request(upstream, 'POST', '/v1/secret/data/team/gone', { data: { a: 'b' } });
  const deleted = await request(upstream, 'DELETE', '/v1/secret/data/team/gone');
  assert.equal(deleted.status, 204);
  const error = await backend.read('team/gone').catch((caught) => caught);
  assert.ok(isTesseraError(error, 'VERSION_DELETED'), String(error));
});

test('Tessera upstream: missing secret is NOT_FOUND', async () => {
  const error = await backend.read('team/none').catch((caught) => caught);
  assert.ok(isTesseraError(error, 'NOT_FOUND'), String(error));
});
