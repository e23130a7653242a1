import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { rawGet, request, startTestServer, type TestServer } from '../helpers/server.ts';

describe('Vault KV v2 API', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('write then read returns data and metadata', async () => {
    const written = await request(server, 'POST', '/v1/secret/data/app/one', {
      data: { user: 'ann', pass: 'p1' },
    });
    assert.equal(written.status, 200);
    assert.equal(written.body.data.version, 1);
    assert.equal(written.body.data.destroyed, false);

    const read = await request(server, 'GET', '/v1/secret/data/app/one');
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.data.data, { user: 'ann', pass: 'p1' });
    assert.equal(read.body.data.metadata.version, 1);
    assert.equal(read.body.data.metadata.deletion_time, '');
  });

  test('versions are kept and readable by number', async () => {
    await request(server, 'POST', '/v1/secret/data/app/versions', { data: { v: 'one' } });
    await request(server, 'PUT', '/v1/secret/data/app/versions', { data: { v: 'two' } });
    const current = await request(server, 'GET', '/v1/secret/data/app/versions');
    const first = await request(server, 'GET', '/v1/secret/data/app/versions?version=1');
    assert.equal(current.body.data.data.v, 'two');
    assert.equal(current.body.data.metadata.version, 2);
    assert.equal(first.body.data.data.v, 'one');
  });

  test('check-and-set rejects a stale version', async () => {
    await request(server, 'POST', '/v1/secret/data/app/cas', {
      data: { v: '1' },
      options: { cas: 0 },
    });
    const again = await request(server, 'POST', '/v1/secret/data/app/cas', {
      data: { v: 'x' },
      options: { cas: 0 },
    });
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'CAS_MISMATCH');
    const ok = await request(server, 'POST', '/v1/secret/data/app/cas', {
      data: { v: '2' },
      options: { cas: 1 },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data.version, 2);
  });

  test('soft delete answers 404 with metadata, undelete restores', async () => {
    await request(server, 'POST', '/v1/secret/data/app/del', { data: { v: 'a' } });
    const deleted = await request(server, 'DELETE', '/v1/secret/data/app/del');
    assert.equal(deleted.status, 204);

    const read = await request(server, 'GET', '/v1/secret/data/app/del');
    assert.equal(read.status, 404);
    assert.equal(read.body.code, 'VERSION_DELETED');
    assert.equal(read.body.data.data, null);
    assert.notEqual(read.body.data.metadata.deletion_time, '');

    const restored = await request(server, 'POST', '/v1/secret/undelete/app/del', {
      versions: [1],
    });
    assert.equal(restored.status, 204);
    const again = await request(server, 'GET', '/v1/secret/data/app/del');
    assert.equal(again.body.data.data.v, 'a');
  });

  test('destroy answers VERSION_DESTROYED, not not-found', async () => {
    await request(server, 'POST', '/v1/secret/data/app/gone', { data: { v: 'a' } });
    await request(server, 'POST', '/v1/secret/data/app/gone', { data: { v: 'b' } });
    const destroyed = await request(server, 'POST', '/v1/secret/destroy/app/gone', {
      versions: [1],
    });
    assert.equal(destroyed.status, 204);
    const read = await request(server, 'GET', '/v1/secret/data/app/gone?version=1');
    assert.equal(read.status, 404);
    assert.equal(read.body.code, 'VERSION_DESTROYED');
    assert.equal(read.body.data.metadata.destroyed, true);
    const metadata = await request(server, 'GET', '/v1/secret/metadata/app/gone');
    assert.equal(metadata.body.data.versions['1'].destroyed, true);
    assert.equal(metadata.body.data.current_version, 2);
  });

  test('list shows direct children and folders', async () => {
    await request(server, 'POST', '/v1/secret/data/tree/a', { data: { v: '1' } });
    await request(server, 'POST', '/v1/secret/data/tree/sub/b', { data: { v: '1' } });
    const listed = await request(server, 'GET', '/v1/secret/metadata/tree/?list=true');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.keys, ['a', 'sub/']);
  });

  test('metadata settings apply: max_versions prunes the oldest', async () => {
    const set = await request(server, 'POST', '/v1/secret/metadata/app/max', { max_versions: 2 });
    assert.equal(set.status, 204);
    for (const v of ['1', '2', '3'])
      await request(server, 'POST', '/v1/secret/data/app/max', { data: { v } });
    const metadata = await request(server, 'GET', '/v1/secret/metadata/app/max');
    assert.deepEqual(Object.keys(metadata.body.data.versions), ['2', '3']);
    assert.equal(metadata.body.data.oldest_version, 2);
  });

  test('metadata write rejects unknown fields', async () => {
    const response = await request(server, 'POST', '/v1/secret/metadata/app/strict', {
      max_versions: 2,
      bogus: true,
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /has unknown field 'bogus'/);
    const metadata = await request(server, 'GET', '/v1/secret/metadata/app/strict');
    assert.equal(metadata.status, 404);
  });

  test('metadata write rejects delete_version_after', async () => {
    const response = await request(server, 'POST', '/v1/secret/metadata/app/expiring', {
      delete_version_after: '1h',
    });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /delete_version_after is not supported by Tessera/);
  });

  test('metadata write accepts delete_version_after 0s', async () => {
    for (const after of ['0s', 0]) {
      const response = await request(server, 'POST', '/v1/secret/metadata/app/never', {
        delete_version_after: after,
      });
      assert.equal(response.status, 204, String(after));
    }
  });

  test('metadata write names a bad field', async () => {
    const response = await request(server, 'POST', '/v1/secret/metadata/app/bad-max', {
      max_versions: 'ten',
      custom_metadata: { owner: 5 },
    });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /max_versions must be a number/);
    assert.match(response.body.message, /custom_metadata\.owner must be a string/);
  });

  test('data read shows custom metadata', async () => {
    const custom = { owner: 'billing', team: 'payments' };
    await request(server, 'POST', '/v1/secret/data/app/custom', { data: { v: '1' } });
    await request(server, 'POST', '/v1/secret/metadata/app/custom', { custom_metadata: custom });

    const read = await request(server, 'GET', '/v1/secret/data/app/custom');
    assert.deepEqual(read.body.data.metadata.custom_metadata, custom);
    const metadata = await request(server, 'GET', '/v1/secret/metadata/app/custom');
    assert.deepEqual(metadata.body.data.custom_metadata, custom);
    const bytes = await request(server, 'GET', '/v1/tessera/data/app/custom');
    assert.deepEqual(bytes.body.data.metadata.custom_metadata, custom);
    const written = await request(server, 'POST', '/v1/secret/data/app/custom', {
      data: { v: '2' },
    });
    assert.deepEqual(written.body.data.custom_metadata, custom);

    await request(server, 'DELETE', '/v1/secret/data/app/custom');
    const deleted = await request(server, 'GET', '/v1/secret/data/app/custom');
    assert.equal(deleted.status, 404);
    assert.deepEqual(deleted.body.data.metadata.custom_metadata, custom);
  });

  test('patch merges fields into a new version', async () => {
    await request(server, 'POST', '/v1/secret/data/app/patch', { data: { a: '1', b: '2' } });
    const response = await fetch(`${server.address}/v1/secret/data/app/patch`, {
      method: 'PATCH',
      headers: {
        'x-vault-token': server.rootToken,
        'content-type': 'application/merge-patch+json',
      },
      body: JSON.stringify({ data: { b: null, c: '3' } }),
    });
    assert.equal(response.status, 200);
    const read = await request(server, 'GET', '/v1/secret/data/app/patch');
    assert.deepEqual(read.body.data.data, { a: '1', c: '3' });
  });

  test('patch of a missing secret is 404', async () => {
    const response = await fetch(`${server.address}/v1/secret/data/app/no-patch`, {
      method: 'PATCH',
      headers: { 'x-vault-token': server.rootToken },
      body: JSON.stringify({ data: { a: '1' } }),
    });
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { code: string }).code, 'NOT_FOUND');
  });

  test('patch checks the version it merged from', async () => {
    await request(server, 'POST', '/v1/secret/data/app/patch-cas', { data: { a: '1' } });
    await request(server, 'POST', '/v1/secret/data/app/patch-cas', { data: { a: '2' } });
    const response = await fetch(`${server.address}/v1/secret/data/app/patch-cas`, {
      method: 'PATCH',
      headers: { 'x-vault-token': server.rootToken },
      body: JSON.stringify({ data: { b: '3' }, options: { cas: 1 } }),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { code: string }).code, 'CAS_MISMATCH');
  });

  test('non-string field values are rejected naming the field', async () => {
    const response = await request(server, 'POST', '/v1/secret/data/app/bad', {
      data: { port: 5432 },
    });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /data\.port/);
  });

  test('field limits are enforced', async () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`f${i}`, 'x']));
    const tooMany = await request(server, 'POST', '/v1/secret/data/app/many', { data: many });
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.message, /has 65 fields; the maximum is 64/);
    delete many.f64;
    const enough = await request(server, 'POST', '/v1/secret/data/app/many', { data: many });
    assert.equal(enough.status, 200);

    const long = { [`${'n'.repeat(257)}`]: 'x' };
    const tooLong = await request(server, 'POST', '/v1/secret/data/app/long', { data: long });
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.message, /name of 257 bytes; the maximum is 256 bytes/);
  });

  test('control characters in field names are rejected', async () => {
    const cases: [string, string][] = [
      ['a\u0000', 'U\\+0000'],
      ['a\u0085', 'U\\+0085'],
      ['a\u202eb', 'U\\+202E'],
    ];
    for (const [name, code] of cases) {
      const response = await request(server, 'POST', '/v1/secret/data/app/control', {
        data: { ok: 'x', [name]: 'CANARY-field-value' },
      });
      assert.equal(response.status, 400, code);
      assert.equal(response.body.code, 'INVALID_ARGUMENT');
      assert.match(
        response.body.message,
        new RegExp(`field 2 of secret app/control has a name with the control character ${code}`),
      );
      assert.doesNotMatch(JSON.stringify(response.body), /CANARY/);
    }
    const read = await request(server, 'GET', '/v1/secret/data/app/control');
    assert.equal(read.status, 404);
  });

  test('a binary field is refused by the KV read with NOT_UTF8', async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe]).toString('base64');
    await request(server, 'POST', '/v1/tessera/data/app/binary', { fields: { keytab: bytes } });
    const read = await request(server, 'GET', '/v1/secret/data/app/binary');
    assert.equal(read.status, 400);
    assert.equal(read.body.code, 'NOT_UTF8');
    assert.match(read.body.message, /keytab/);
  });

  test('requests without a valid token are refused', async () => {
    const missing = await request(server, 'GET', '/v1/secret/data/app/one', undefined, '');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'TOKEN_MISSING');
    const wrong = await request(server, 'GET', '/v1/secret/data/app/one', undefined, 'tsr_wrong');
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, 'PERMISSION_DENIED');
  });

  test('Authorization Bearer is accepted like X-Vault-Token', async () => {
    const response = await fetch(`${server.address}/v1/secret/data/app/one`, {
      headers: { authorization: `Bearer ${server.rootToken}` },
    });
    assert.equal(response.status, 200);
  });

  test('Bearer scheme is case-insensitive', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const response = await fetch(`${server.address}/v1/secret/data/app/one`, {
        headers: { authorization: `${scheme} ${server.rootToken}` },
      });
      assert.equal(response.status, 200, scheme);
    }
  });

  test('invalid paths are rejected with INVALID_PATH', async () => {
    const targets = ['a/../b', 'a//b', 'a/./b', 'a/%2e%2e/b', 'a%2f..%2fb', 'a/'];
    for (const target of targets) {
      const response = await rawGet(server, `/v1/secret/data/${target}`);
      assert.equal(response.status, 400, target);
      assert.equal(response.body.code, 'INVALID_PATH', target);
    }
  });

  test('malformed JSON bodies get a fixed message without the body', async () => {
    const response = await fetch(`${server.address}/v1/secret/data/app/json`, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: '{"data": {"pass": "CANARY-json-body',
    });
    const body = (await response.json()) as { code: string };
    assert.equal(response.status, 400);
    assert.equal(body.code, 'INVALID_ARGUMENT');
    assert.doesNotMatch(JSON.stringify(body), /CANARY/);
  });

  test('a body without Content-Type is read as JSON, as Vault does', async () => {
    const response = await fetch(`${server.address}/v1/secret/data/app/curl`, {
      method: 'POST',
      headers: {
        'x-vault-token': server.rootToken,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: '{"data": {"k": "v"}}',
    });
    assert.equal(response.status, 200);
    const read = await request(server, 'GET', '/v1/secret/data/app/curl');
    assert.equal(read.body.data.data.k, 'v');
  });

  test('DELETE with Content-Type and no body works', async () => {
    await request(server, 'POST', '/v1/secret/data/app/typed-delete', { data: { v: 'a' } });
    const response = await fetch(`${server.address}/v1/secret/data/app/typed-delete`, {
      method: 'DELETE',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
    });
    assert.equal(response.status, 204);
    const read = await request(server, 'GET', '/v1/secret/data/app/typed-delete');
    assert.equal(read.body.code, 'VERSION_DELETED');
  });

  test('compressed body is rejected naming the encoding', async () => {
    const response = await fetch(`${server.address}/v1/secret/data/app/gzip`, {
      method: 'POST',
      headers: {
        'x-vault-token': server.rootToken,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: gzipSync('{"data": {"k": "CANARY-gzip-body"}}'),
    });
    const body = (await response.json()) as { code: string; message: string };
    assert.equal(response.status, 400);
    assert.equal(body.code, 'INVALID_ARGUMENT');
    assert.match(body.message, /Content-Encoding 'gzip', which the server does not decode/);
    assert.doesNotMatch(JSON.stringify(body), /CANARY/);
  });

  test('bytes that are not UTF-8 are rejected, not replaced', async () => {
    const body = Buffer.concat([
      Buffer.from('{"data": {"k": "'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}'),
    ]);
    const response = await fetch(`${server.address}/v1/secret/data/app/bytes`, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body,
    });
    assert.equal(response.status, 400);
    const missing = await request(server, 'GET', '/v1/secret/data/app/bytes');
    assert.equal(missing.status, 404);
  });

  test('a lone surrogate is rejected naming the field', async () => {
    const response = await fetch(`${server.address}/v1/secret/data/app/surrogate`, {
      method: 'POST',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: '{"data": {"k": "\\ud800x"}}',
    });
    const body = (await response.json()) as { code: string; message: string };
    assert.equal(response.status, 400);
    assert.match(body.message, /data\.k/);
  });

  test('a malformed URL gets the documented error body', async () => {
    const response = await rawGet(server, '/v1/secret/data/a%zzb');
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_PATH');
    assert.ok(response.body.request_id);
  });
});
