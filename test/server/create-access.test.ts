import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const VALUE = Buffer.from('x').toString('base64');

// Every route that can bring a secret into being needs `create` on a path without one.
describe('creating a secret needs create', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};

  const tokenWith = async (name: string, capabilities: string[]) => {
    const policy = { rules: [{ path: 'new/*', capabilities }] };
    const written = await request(server, 'PUT', `/v1/sys/policies/acl/${name}`, {
      policy: JSON.stringify(policy),
    });
    assert.equal(written.status, 204);
    const created = await request(server, 'POST', '/v1/auth/token/create', { policies: [name] });
    assert.equal(created.status, 200);
    return created.body.auth.client_token as string;
  };

  before(async () => {
    server = await startTestServer();
    tokens.update = await tokenWith('update-only', ['update', 'read']);
    tokens.create = await tokenWith('create-only', ['create']);
    tokens.rotate = await tokenWith('rotate-only', ['rotate', 'read']);
    tokens.rotateCreate = await tokenWith('rotate-create', ['rotate', 'create', 'read']);
  });
  after(() => server.close());

  const exists = async (path: string) =>
    (await request(server, 'GET', `/v1/secret/metadata/${path}`)).status === 200;

  test('metadata write with update only is denied', async () => {
    const response = await request(server, 'POST', '/v1/secret/metadata/new/a', {}, tokens.update);
    assert.equal(response.status, 403);
    assert.equal(response.body.code, 'PERMISSION_DENIED');
    assert.equal(await exists('new/a'), false);
    const data = { data: { v: '1' } };
    const write = await request(server, 'POST', '/v1/secret/data/new/a', data, tokens.update);
    assert.equal(write.status, 403);
  });

  test('metadata write with create makes the secret', async () => {
    const response = await request(server, 'POST', '/v1/secret/metadata/new/b', {}, tokens.create);
    assert.equal(response.status, 204);
    assert.equal(await exists('new/b'), true);
  });

  test('metadata write of an existing secret needs update', async () => {
    await request(server, 'POST', '/v1/secret/data/new/c', { data: { v: '1' } });
    const body = { max_versions: 3 };
    const updated = await request(server, 'POST', '/v1/secret/metadata/new/c', body, tokens.update);
    assert.equal(updated.status, 204);
    const created = await request(server, 'POST', '/v1/secret/metadata/new/c', body, tokens.create);
    assert.equal(created.status, 403);
  });

  test('pending write with rotate only is denied', async () => {
    const body = { fields: { value: VALUE } };
    const response = await request(
      server,
      'POST',
      '/v1/tessera/pending/new/d',
      body,
      tokens.rotate,
    );
    assert.equal(response.status, 403);
    assert.equal(await exists('new/d'), false);
    const allowed = await request(
      server,
      'POST',
      '/v1/tessera/pending/new/d',
      body,
      tokens.rotateCreate,
    );
    assert.equal(allowed.status, 200);
  });

  test('pending write of an existing secret needs rotate only', async () => {
    await request(server, 'POST', '/v1/secret/data/new/e', { data: { v: '1' } });
    const body = { fields: { value: VALUE } };
    const response = await request(
      server,
      'POST',
      '/v1/tessera/pending/new/e',
      body,
      tokens.rotate,
    );
    assert.equal(response.status, 200);
  });

  test('rotation policy with rotate only is denied', async () => {
    const policy = { schedule: { interval: '30d' }, generator: { type: 'password', length: 20 } };
    const denied = await request(
      server,
      'PUT',
      '/v1/tessera/rotation/new/f',
      policy,
      tokens.rotate,
    );
    assert.equal(denied.status, 403);
    assert.equal(await exists('new/f'), false);
    const rotated = await request(server, 'POST', '/v1/tessera/rotate/new/f', {}, tokens.rotate);
    assert.equal(rotated.status, 403);
    assert.equal(await exists('new/f'), false);

    const allowed = await request(
      server,
      'PUT',
      '/v1/tessera/rotation/new/f',
      policy,
      tokens.rotateCreate,
    );
    assert.equal(allowed.status, 200);
  });

  test('batch write with update only is denied', async () => {
    const body = { writes: [{ path: 'new/g', fields: { value: VALUE } }] };
    const response = await request(server, 'POST', '/v1/tessera/batch', body, tokens.update);
    assert.equal(response.status, 403);
    assert.equal(await exists('new/g'), false);
  });

  test('policy check agrees with the metadata write', async () => {
    const lookup = await request(
      server,
      'GET',
      '/v1/auth/token/lookup-self',
      undefined,
      tokens.update,
    );
    const body = { accessor: lookup.body.data.accessor, path: 'new/h', capability: 'create' };
    const check = await request(server, 'POST', '/v1/tessera/policy-check', body);
    assert.equal(check.body.data.allowed, false);
    const write = await request(server, 'POST', '/v1/secret/metadata/new/h', {}, tokens.update);
    assert.equal(write.status, 403);
  });
});
