import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const ROUTE = '/v1/auth/mesos/role';

describe('login role routes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  // Sends `text` as the body exactly as written, which request() cannot do.
  const rawPut = async (name: string, text: string) => {
    const response = await fetch(`${server.address}${ROUTE}/${name}`, {
      method: 'PUT',
      headers: { 'x-vault-token': server.rootToken, 'content-type': 'application/json' },
      body: text,
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  test('key given twice is rejected', async () => {
    const text =
      '{"policies": ["billing-read"],\n "framework_names": ["marathon"],\n "policies": ["root"]}';
    const response = await rawPut('billing', text);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /^request body has a key twice in one object/);
    assert.match(response.body.message, /the second at line 3, column 2;/);
    const read = await request(server, 'GET', `${ROUTE}/billing`);
    assert.equal(read.status, 404);
  });
});

describe('writing login roles', () => {
  let server: TestServer;
  let roleAdmin: string;

  before(async () => {
    server = await startTestServer();
    const rules = [{ path: 'sys/login-roles/*', capabilities: ['admin'] }];
    await request(server, 'PUT', '/v1/sys/policies/acl/role-admin', {
      policy: JSON.stringify({ rules }),
    });
    const readRules = [{ path: 'billing/*', capabilities: ['read'] }];
    await request(server, 'PUT', '/v1/sys/policies/acl/billing-read', {
      policy: JSON.stringify({ rules: readRules }),
    });
    const created = await request(server, 'POST', '/v1/auth/token/create', {
      policies: ['role-admin'],
    });
    roleAdmin = created.body.auth.client_token;
  });
  after(() => server.close());

  const write = (policies: string[], token: string) =>
    request(
      server,
      'PUT',
      '/v1/auth/mesos/role/billing',
      { policies, framework_names: ['marathon'] },
      token,
    );

  it('rejects policies the writer does not hold', async () => {
    for (const policies of [['root'], ['billing-read'], ['role-admin', 'billing-read']]) {
      const written = await write(policies, roleAdmin);
      assert.equal(written.status, 403, policies.join());
      assert.match(
        written.body.message,
        /a login role's policies must be a subset of the caller's, and '(root|billing-read)' is not among them/,
      );
    }
    const read = await request(server, 'GET', '/v1/auth/mesos/role/billing', undefined, roleAdmin);
    assert.equal(read.status, 404, 'no role was written');
  });

  it('accepts policies the writer holds', async () => {
    assert.equal((await write(['role-admin'], roleAdmin)).status, 204);
  });

  it('lets root write any policy', async () => {
    assert.equal((await write(['billing-read'], server.rootToken)).status, 204);
  });
});
