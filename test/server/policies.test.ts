import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const WEB = { rules: [{ path: 'apps/web/*', capabilities: ['read', 'list'] }] };
const POLICY_ADMIN = { rules: [{ path: 'sys/policies/*', capabilities: ['admin'] }] };

describe('policy routes', () => {
  let server: TestServer;

  async function put(name: string, policy: unknown, token?: string) {
    const text = typeof policy === 'string' ? policy : JSON.stringify(policy);
    const body = { policy: text };
    return request(server, 'PUT', `/v1/sys/policies/acl/${name}`, body, token ?? server.rootToken);
  }

  async function tokenFor(policies: string[]): Promise<{ token: string; accessor: string }> {
    const created = await request(server, 'POST', '/v1/auth/token/create', { policies });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return { token: created.body.auth.client_token, accessor: created.body.auth.accessor };
  }

  before(async () => {
    server = await startTestServer({ failureLimit: { maxFailures: 1000, windowMs: 60_000 } });
    assert.equal((await put('web', WEB)).status, 204);
    assert.equal((await put('policy-admin', POLICY_ADMIN)).status, 204);
    for (const path of ['apps/web/db', 'apps/api/db']) {
      const written = await request(server, 'POST', `/v1/secret/data/${path}`, {
        data: { password: 'p' },
      });
      assert.equal(written.status, 200);
    }
  });
  after(() => server.close());

  test('a policy reads back as written', async () => {
    const read = await request(server, 'GET', '/v1/sys/policies/acl/web');
    assert.equal(read.status, 200);
    assert.equal(read.body.data.name, 'web');
    assert.deepEqual(JSON.parse(read.body.data.policy), WEB);
  });

  test('Vault older policy routes are aliases', async () => {
    const rules = JSON.stringify(WEB);
    const route = '/v1/sys/policy/legacy';
    assert.equal((await request(server, 'PUT', route, { name: 'legacy', rules })).status, 204);
    const read = await request(server, 'GET', route);
    assert.equal(read.status, 200);
    assert.equal(read.body.rules, rules);
    assert.equal(read.body.data.policy, rules);
    const acl = await request(server, 'GET', '/v1/sys/policies/acl/legacy');
    assert.equal(acl.body.data.policy, rules);
    assert.equal((await request(server, 'POST', route, { policy: rules })).status, 204);
    assert.equal((await request(server, 'DELETE', route)).status, 204);
    assert.equal((await request(server, 'GET', route)).status, 404);
  });

  test('older policy route checks its body', async () => {
    const rules = JSON.stringify(WEB);
    const route = '/v1/sys/policy/legacy-bad';
    const both = await request(server, 'PUT', route, { rules, policy: rules });
    assert.equal(both.status, 400);
    assert.match(both.body.message, /both rules and policy/);
    const renamed = await request(server, 'PUT', route, { name: 'other', rules });
    assert.equal(renamed.status, 400);
    assert.match(renamed.body.message, /differs from the policy name in the URL/);
    const empty = await request(server, 'PUT', route, {});
    assert.equal(empty.status, 400);
    assert.match(empty.body.message, /needs the policy text in rules/);
  });

  test('older policy routes need admin', async () => {
    const { token } = await tokenFor(['web']);
    const listed = await request(server, 'GET', '/v1/sys/policy', undefined, token);
    assert.equal(listed.status, 403);
    const read = await request(server, 'GET', '/v1/sys/policy/web', undefined, token);
    assert.equal(read.status, 403);
  });

  test('the list holds every policy and root', async () => {
    const listed = await request(server, 'GET', '/v1/sys/policies/acl?list=true');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.keys, ['policy-admin', 'root', 'web']);
  });

  test('an invalid policy is rejected naming the rule', async () => {
    const bad = { rules: [WEB.rules[0], { path: 'apps/*/x', capabilities: ['read'] }] };
    const response = await put('bad', bad);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /rules\[1\]\.path "apps\/\*\/x"/);
  });

  test('invalid JSON is rejected by line and column', async () => {
    const response = await put('bad', '{"rules": [\n  {"path": "CANARY-policy-text" x}]}');
    assert.equal(response.status, 400);
    assert.match(response.body.message, /not valid JSON: .* at line 2, column \d+/);
    assert.doesNotMatch(JSON.stringify(response.body), /CANARY/);
  });

  test('a key given twice is rejected by line and column', async () => {
    const text =
      '{"rules": [\n  {"path": "apps/*", "capabilities": ["read"], "capabilities": ["admin"]}]}';
    const response = await put('twice', text);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /^policy 'twice' has the key 'capabilities' twice/);
    assert.match(response.body.message, /the second at line 2, column 48/);
    const read = await request(server, 'GET', '/v1/sys/policies/acl/twice');
    assert.equal(read.status, 404);
  });

  test('an invalid name is rejected', async () => {
    const response = await put('Web', WEB);
    assert.equal(response.status, 400);
    assert.match(response.body.message, /policy name is invalid/);
  });

  test('the root policy cannot be written or deleted', async () => {
    const written = await put('root', WEB);
    assert.equal(written.status, 400);
    assert.match(written.body.message, /'root' is built in/);
    const deleted = await request(server, 'DELETE', '/v1/sys/policies/acl/root');
    assert.equal(deleted.status, 400);
  });

  test('a deleted policy is gone', async () => {
    assert.equal((await put('temporary', WEB)).status, 204);
    const deleted = await request(server, 'DELETE', '/v1/sys/policies/acl/temporary');
    assert.equal(deleted.status, 204);
    const read = await request(server, 'GET', '/v1/sys/policies/acl/temporary');
    assert.equal(read.status, 404);
    const again = await request(server, 'DELETE', '/v1/sys/policies/acl/temporary');
    assert.equal(again.status, 404);
  });

  test('a policy decides what a token may read', async () => {
    const { token } = await tokenFor(['web']);
    const own = await request(server, 'GET', '/v1/secret/data/apps/web/db', undefined, token);
    assert.equal(own.status, 200);
    assert.equal(own.body.data.data.password, 'p');
    const other = await request(server, 'GET', '/v1/secret/data/apps/api/db', undefined, token);
    assert.equal(other.status, 403);
    const write = await request(server, 'POST', '/v1/secret/data/apps/web/db', { data: {} }, token);
    assert.equal(write.status, 403);
    const policies = await request(server, 'GET', '/v1/sys/policies/acl/web', undefined, token);
    assert.equal(policies.status, 403);
  });

  test('a policy change applies to the next request', async () => {
    assert.equal((await put('changing', WEB)).status, 204);
    const { token } = await tokenFor(['changing']);
    const route = '/v1/secret/data/apps/web/db';
    assert.equal((await request(server, 'GET', route, undefined, token)).status, 200);
    const deny = { rules: [{ path: 'apps/web/db', capabilities: ['deny'] }] };
    assert.equal((await put('changing', deny)).status, 204);
    assert.equal((await request(server, 'GET', route, undefined, token)).status, 403);
  });

  test('admin on policies manages policies but not tokens', async () => {
    const { token, accessor } = await tokenFor(['policy-admin']);
    assert.equal((await put('by-admin', WEB, token)).status, 204);
    const listed = await request(server, 'GET', '/v1/sys/policies/acl', undefined, token);
    assert.equal(listed.status, 200);
    const lookup = await request(
      server,
      'POST',
      '/v1/auth/token/lookup-accessor',
      { accessor },
      token,
    );
    assert.equal(lookup.status, 403);
  });

  test('a secret path in sys is rejected', async () => {
    const response = await request(server, 'POST', '/v1/secret/data/sys/x', { data: { a: 'b' } });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_PATH');
    assert.match(response.body.message, /top-level folder 'sys' is reserved/);
  });
});

describe('policy-check', () => {
  let server: TestServer;
  let web: { token: string; accessor: string };

  async function check(body: Record<string, unknown>, token?: string) {
    return request(server, 'POST', '/v1/tessera/policy-check', body, token ?? server.rootToken);
  }

  before(async () => {
    server = await startTestServer();
    const written = await request(server, 'PUT', '/v1/sys/policies/acl/web', {
      policy: JSON.stringify(WEB),
    });
    assert.equal(written.status, 204);
    const created = await request(server, 'POST', '/v1/auth/token/create', { policies: ['web'] });
    web = { token: created.body.auth.client_token, accessor: created.body.auth.accessor };
  });
  after(() => server.close());

  test('names the rule that allows', async () => {
    const response = await check({
      accessor: web.accessor,
      path: 'apps/web/db',
      capability: 'read',
    });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.data, {
      allowed: true,
      policy: 'web',
      rule: 'apps/web/*',
      reason: "allowed by policy 'web', rule 'apps/web/*'",
    });
  });

  test('says why it denies', async () => {
    const response = await check({
      accessor: web.accessor,
      path: 'apps/api/db',
      capability: 'read',
    });
    assert.equal(response.status, 200);
    assert.equal(response.body.data.allowed, false);
    assert.equal(response.body.data.reason, 'no rule grants read on apps/api/db');
  });

  test('checks list prefixes and sys paths', async () => {
    const list = await check({ accessor: web.accessor, path: 'apps/web/', capability: 'list' });
    assert.equal(list.body.data.allowed, true);
    const sys = await check({
      accessor: web.accessor,
      path: 'sys/policies/web',
      capability: 'admin',
    });
    assert.equal(sys.body.data.allowed, false);
  });

  test('needs admin on the token', async () => {
    const body = { accessor: web.accessor, path: 'apps/web/db', capability: 'read' };
    const response = await check(body, web.token);
    assert.equal(response.status, 403);
  });

  test('rejects an unknown capability', async () => {
    const response = await check({ accessor: web.accessor, path: 'a', capability: 'write' });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /capability must be one of read, list/);
  });

  test('rejects an unknown accessor', async () => {
    const response = await check({ accessor: 'nobody', path: 'a', capability: 'read' });
    assert.equal(response.status, 404);
  });
});
