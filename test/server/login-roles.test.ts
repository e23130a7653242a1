import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const ROUTE = '/v1/auth/mesos/role';

// Zod's own wording, which speaks of its types and not of the role's fields.
const ZOD_WORDING = /expected \w+, received|Unrecognized key|Invalid (input|key)|Too big|Too small/;

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

  const invalid: [string, unknown, string][] = [
    [
      'an unknown field',
      { policies: ['a'], roles: ['r'], extra: 1 },
      `(top level) has unknown field 'extra'; allowed: "policies", "framework_names"`,
    ],
    ['policies as a string', { policies: 'a', roles: ['r'] }, 'policies must be an array'],
    ['no policies', { roles: ['r'] }, 'policies is missing'],
    [
      'a bad policy name',
      { policies: ['Billing'], roles: ['r'] },
      "policies[0] must be a policy name: 1 to 128 lowercase letters, digits, '-' or '_'",
    ],
    [
      'an empty framework name',
      { policies: ['a'], framework_names: [''] },
      'framework_names[0] must not be empty',
    ],
    [
      'an empty label name',
      { policies: ['a'], labels: { '': 'billing' } },
      'labels[""] is an empty label name; give each label a name',
    ],
    [
      'a label that is no string',
      { policies: ['a'], labels: { team: 1 } },
      'labels.team must be a string',
    ],
    [
      'a duration with a word unit',
      { policies: ['a'], roles: ['r'], token_ttl: '1 hour' },
      "token_ttl '1 hour' is not a duration; give a whole number of seconds, or one with a unit",
    ],
    [
      'a short token_ttl',
      { policies: ['a'], roles: ['r'], token_ttl: 30 },
      'token_ttl must be at least 1m',
    ],
    [
      'a token_max_ttl under token_ttl',
      { policies: ['a'], roles: ['r'], token_ttl: '2h', token_max_ttl: '1h' },
      'token_max_ttl (1h) is shorter than token_ttl (2h); make it at least token_ttl',
    ],
  ];
  for (const [name, role, expected] of invalid) {
    test(`rejects ${name} by its field`, async () => {
      const response = await request(server, 'PUT', `${ROUTE}/billing`, role);
      assert.equal(response.status, 400);
      assert.equal(response.body.code, 'INVALID_ARGUMENT');
      assert.ok(
        response.body.message.startsWith(`login role 'billing' is invalid: ${expected}`),
        response.body.message,
      );
      assert.doesNotMatch(response.body.message, ZOD_WORDING);
    });
  }
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
