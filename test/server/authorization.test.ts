import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawGet, request, startTestServer, type TestServer } from '../helpers/server.ts';

const WEB_POLICY = {
  rules: [
    { path: 'apps/web/*', capabilities: ['read', 'list'] },
    { path: 'apps/web/admin/*', capabilities: ['deny'] },
  ],
};

describe('authorisation on canonical paths', () => {
  let server: TestServer;
  let token: string;

  before(async () => {
    server = await startTestServer();
    for (const path of ['apps/web/db', 'apps/other/db', 'apps/web/admin/key']) {
      const written = await request(server, 'POST', `/v1/secret/data/${path}`, {
        data: { value: `secret of ${path}` },
      });
      assert.equal(written.status, 200);
    }
    const policy = await request(server, 'PUT', '/v1/sys/policies/acl/web', {
      policy: JSON.stringify(WEB_POLICY),
    });
    assert.equal(policy.status, 204);
    const created = await request(server, 'POST', '/v1/auth/token/create', { policies: ['web'] });
    assert.equal(created.status, 200);
    token = created.body.auth.client_token;
  });
  after(() => server.close());

  const read = (target: string) => rawGet(server, `/v1/secret/data/${target}`, token);

  test('a granted path is readable', async () => {
    const response = await read('apps/web/db');
    assert.equal(response.status, 200);
    assert.equal(response.body.data.data.value, 'secret of apps/web/db');
  });

  test('deny overrides a broader grant', async () => {
    const response = await read('apps/web/admin/key');
    assert.equal(response.status, 403);
  });

  test('default deny outside the policy', async () => {
    assert.equal((await read('apps/other/db')).status, 403);
  });

  test('forbidden and missing look alike to the caller', async () => {
    const existing = await read('apps/other/db');
    const missing = await read('apps/other/nothing-here');
    assert.equal(existing.status, missing.status);
    assert.equal(existing.body.code, missing.body.code);
    assert.equal(
      existing.body.message.replace('apps/other/db', 'P'),
      missing.body.message.replace('apps/other/nothing-here', 'P'),
    );
  });

  // Each attempt either is rejected as an invalid path, or is decided on the path it
  // names byte for byte; none reaches apps/other/db through the grant on apps/web/*.
  const rejected = [
    'apps/web/../other/db',
    'apps/web/%2e%2e/other/db',
    'apps/web/%2E%2E/other/db',
    'apps/web%2f..%2fother/db',
    'apps/web%2F%2E%2E%2Fother/db',
    'apps/web//../other/db',
    'apps/web/./db',
    'apps/web/%2e/db',
    'apps//web/db',
    'apps/web/db/',
    'apps/web/db%00',
    'apps/web/%0a/db',
    'apps/web/%C2%85db',
    'apps/web/%E2%80%AEdb',
    `apps/web/${'a'.repeat(600)}`,
  ];
  for (const target of rejected) {
    test(`rejects ${target.slice(0, 40)}`, async () => {
      const response = await read(target);
      assert.equal(response.status, 400, target);
      assert.equal(response.body.code, 'INVALID_PATH', target);
    });
  }

  const sameAsCanonical: [string, number][] = [
    ['/apps/web/db', 200],
    ['%2Fapps/web/db', 200],
    ['apps%2Fweb%2Fdb', 200],
    ['apps%2Fother%2Fdb', 403],
    ['//apps/other/db', 400],
    ['APPS/web/db', 403],
    ['Apps/Web/db', 403],
    // Cyrillic "а" (U+0430) in place of Latin "a": another path, not normalised.
    ['\u0430pps/web/db', 403],
    // Fullwidth solidus (U+FF0F) is not a separator: one odd segment under apps/web/.
    ['apps/web/..\uff0fother\uff0fdb', 404],
  ];
  for (const [target, status] of sameAsCanonical) {
    test(`decides ${target} on its own path`, async () => {
      const response = await read(encodeURI(target).replaceAll('%25', '%'));
      assert.equal(response.status, status, target);
      if (status === 200) assert.equal(response.body.data.data.value, 'secret of apps/web/db');
      if (status !== 200) assert.doesNotMatch(JSON.stringify(response.body), /secret of/);
    });
  }

  test('list is granted under the policy prefix only', async () => {
    const inside = await rawGet(server, '/v1/secret/metadata/apps/web/?list=true', token);
    const outside = await rawGet(server, '/v1/secret/metadata/apps/?list=true', token);
    assert.equal(inside.status, 200);
    assert.deepEqual(inside.body.data.keys, ['admin/', 'db']);
    assert.equal(outside.status, 403);
  });

  test('resolve denies per item without revealing the value', async () => {
    const response = await request(
      server,
      'POST',
      '/v1/tessera/resolve',
      {
        secrets: [
          { type: 'REFERENCE', reference: { name: '/apps/web/db' } },
          { type: 'REFERENCE', reference: { name: '/apps/other/db' } },
        ],
      },
      token,
    );
    assert.equal(response.status, 400);
    assert.equal(response.body.details.errors[0].index, 1);
    assert.equal(response.body.details.errors[0].code, 'PERMISSION_DENIED');
    assert.doesNotMatch(JSON.stringify(response.body), /secret of/);
  });

  test('a write needs create, which the read policy lacks', async () => {
    const response = await request(
      server,
      'POST',
      '/v1/secret/data/apps/web/new',
      { data: { v: '1' } },
      token,
    );
    assert.equal(response.status, 403);
  });

  test('create without update cannot overwrite, even when writes race', async () => {
    const policy = { rules: [{ path: 'drop/*', capabilities: ['create'] }] };
    await request(server, 'PUT', '/v1/sys/policies/acl/create-only', {
      policy: JSON.stringify(policy),
    });
    const created = await request(server, 'POST', '/v1/auth/token/create', {
      policies: ['create-only'],
    });
    const createOnly: string = created.body.auth.client_token;

    const writes = Array.from({ length: 10 }, (_, i) =>
      request(server, 'POST', '/v1/secret/data/drop/box', { data: { v: String(i) } }, createOnly),
    );
    const statuses = (await Promise.all(writes)).map((response) => response.status);
    assert.equal(statuses.filter((status) => status === 200).length, 1, statuses.join(','));

    const metadata = await request(server, 'GET', '/v1/secret/metadata/drop/box');
    assert.equal(metadata.body.data.current_version, 1);
  });

  test('a batch may not name one path twice', async () => {
    const value = Buffer.from('x').toString('base64');
    const response = await request(server, 'POST', '/v1/tessera/batch', {
      writes: [
        { path: 'twice/p', fields: { v: value } },
        { path: 'twice/p', fields: { v: value } },
      ],
    });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /writes\[1\]: repeats the path 'twice\/p' of writes\[0\]/);
  });
});
