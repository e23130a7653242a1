import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const ADMIN_POLICY = JSON.stringify({
  rules: [
    { path: 'sys/tokens/*', capabilities: ['admin'] },
    { path: 'sys/policies/*', capabilities: ['admin'] },
  ],
});

// Failed authentications are part of these tests; the default limit would block the client.
const RELAXED = { failureLimit: { maxFailures: 1000, windowMs: 60_000 } };

describe('token routes', () => {
  let server: TestServer;
  const tokens: string[] = [];
  const errorBodies: string[] = [];

  // Sends a request and keeps what a canary check needs: every token issued, every error.
  async function call(method: string, route: string, body?: unknown, token?: string) {
    const response = await request(server, method, route, body, token ?? server.rootToken);
    if (response.body?.auth?.client_token) tokens.push(response.body.auth.client_token);
    if (response.status >= 400) errorBodies.push(JSON.stringify(response.body));
    return response;
  }

  async function create(body: Record<string, unknown>, token?: string) {
    const response = await call('POST', '/v1/auth/token/create', body, token);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.auth as { client_token: string; accessor: string } & Record<string, any>;
  }

  before(async () => {
    server = await startTestServer(RELAXED);
    tokens.push(server.rootToken);
    const written = await call('PUT', '/v1/sys/policies/acl/web', {
      policy: JSON.stringify({ rules: [{ path: 'apps/web/*', capabilities: ['read'] }] }),
    });
    assert.equal(written.status, 204);
  });
  after(() => server.close());

  test('create answers in the shape of Vault', async () => {
    const auth = await create({ policies: ['web'], ttl: '1h', renewable: true });
    assert.match(auth.client_token, /^tsr_[A-Za-z0-9_-]{43}$/);
    assert.match(auth.accessor, /^[0-9a-f]{32}$/);
    assert.deepEqual(auth.policies, ['web']);
    assert.equal(auth.lease_duration, 3600);
    assert.equal(auth.renewable, true);
    assert.equal(auth.num_uses, 0);
  });

  test('create warns of a policy that does not exist', async () => {
    const response = await call('POST', '/v1/auth/token/create', { policies: ['web', 'nope'] });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.warnings, [
      'policy "nope" does not exist, so it grants the token nothing until a policy of that name is written',
    ]);
    const known = await call('POST', '/v1/auth/token/create', { policies: ['web', 'root'] });
    assert.equal(known.body.warnings, null);
  });

  test('create warns when a child TTL is capped', async () => {
    const parent = await create({ policies: ['web'], ttl: '1h' });
    const response = await call(
      'POST',
      '/v1/auth/token/create',
      { policies: ['web'], ttl: '10h' },
      parent.client_token,
    );
    assert.equal(response.status, 200);
    assert.ok(response.body.auth.lease_duration <= 3600);
    assert.equal(response.body.warnings.length, 1);
    assert.match(
      response.body.warnings[0],
      /^TTL of "10h" exceeded the effective max_ttl of "(59m\d+s|1h)"; TTL value is capped accordingly$/,
    );
    const within = await call(
      'POST',
      '/v1/auth/token/create',
      { policies: ['web'], ttl: '10m' },
      parent.client_token,
    );
    assert.equal(within.body.warnings, null);
  });

  test('lookup-self describes the token without its value', async () => {
    const auth = await create({ policies: ['web'], meta: { team: 'payments' } });
    const looked = await call('GET', '/v1/auth/token/lookup-self', undefined, auth.client_token);
    assert.equal(looked.status, 200);
    assert.equal(looked.body.data.accessor, auth.accessor);
    assert.deepEqual(looked.body.data.policies, ['web']);
    assert.equal(looked.body.data.meta.team, 'payments');
    assert.equal(looked.body.data.expire_time, null);
    assert.ok(!JSON.stringify(looked.body).includes(auth.client_token));
  });

  test('create inherits the creator policies when none are given', async () => {
    const parent = await create({ policies: ['web'] });
    const child = await create({}, parent.client_token);
    assert.deepEqual(child.policies, ['web']);
    assert.equal(child.metadata.created_by, parent.accessor);
  });

  test('create rejects policies beyond the creator', async () => {
    const parent = await create({ policies: ['web'] });
    const denied = await call(
      'POST',
      '/v1/auth/token/create',
      { policies: ['root'] },
      parent.client_token,
    );
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 'PERMISSION_DENIED');
  });

  test('create without a parent needs the root policy', async () => {
    const web = await create({ policies: ['web'] });
    const body = { policies: ['web'], no_parent: true };
    const denied = await call('POST', '/v1/auth/token/create', body, web.client_token);
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /no_parent/);
  });

  test('create rejects an unknown field and a bad duration', async () => {
    const unknown = await call('POST', '/v1/auth/token/create', { policies: ['web'], period: 5 });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /period/);
    const bad = await call('POST', '/v1/auth/token/create', { policies: ['web'], ttl: '1 week' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^ttl '1 week' is not a duration/);
  });

  test('a request without a token is TOKEN_MISSING', async () => {
    const response = await call('GET', '/v1/auth/token/lookup-self', undefined, '');
    assert.equal(response.status, 401);
    assert.equal(response.body.code, 'TOKEN_MISSING');
  });

  test('an expired token stops working', async () => {
    const auth = await create({ policies: ['web'], ttl: 1 });
    const first = await call('GET', '/v1/auth/token/lookup-self', undefined, auth.client_token);
    assert.equal(first.status, 200);
    await sleep(1100);
    const later = await call('GET', '/v1/auth/token/lookup-self', undefined, auth.client_token);
    assert.equal(later.status, 403);
    assert.equal(later.body.message, 'permission denied: the token is invalid or expired');
  });

  test('a token with two uses works twice', async () => {
    const auth = await create({ policies: ['web'], num_uses: 2 });
    const route = '/v1/auth/token/lookup-self';
    const first = await call('GET', route, undefined, auth.client_token);
    assert.equal(first.status, 200);
    assert.equal(first.body.data.uses_remaining, 1);
    const second = await call('GET', route, undefined, auth.client_token);
    assert.equal(second.status, 200);
    assert.equal(second.body.data.uses_remaining, 0);
    const third = await call('GET', route, undefined, auth.client_token);
    assert.equal(third.status, 403);
  });

  test('renew-self is capped at the max TTL with a warning', async () => {
    const auth = await create({ policies: ['web'], ttl: 60, explicit_max_ttl: '2m' });
    const renewed = await call(
      'POST',
      '/v1/auth/token/renew-self',
      { increment: '1h' },
      auth.client_token,
    );
    assert.equal(renewed.status, 200);
    assert.ok(renewed.body.auth.lease_duration <= 120);
    assert.ok(renewed.body.auth.lease_duration > 60);
    assert.equal(renewed.body.auth.client_token, undefined);
    assert.match(renewed.body.warnings[0], /^TTL of "1h" exceeded the effective max_ttl of "/);
  });

  test('renew-self extends the expiry', async () => {
    const auth = await create({ policies: ['web'], ttl: 1 });
    const renewed = await call(
      'POST',
      '/v1/auth/token/renew-self',
      { increment: 30 },
      auth.client_token,
    );
    assert.equal(renewed.body.auth.lease_duration, 30);
    assert.equal(renewed.body.warnings, null);
    await sleep(1100);
    const later = await call('GET', '/v1/auth/token/lookup-self', undefined, auth.client_token);
    assert.equal(later.status, 200);
  });

  test('renew-self rejects a token that is not renewable', async () => {
    const auth = await create({ policies: ['web'], ttl: 60, renewable: false });
    const renewed = await call('POST', '/v1/auth/token/renew-self', undefined, auth.client_token);
    assert.equal(renewed.status, 400);
    assert.match(renewed.body.message, /is not renewable/);
  });

  test('lookup-accessor needs admin on the token', async () => {
    const target = await create({ policies: ['web'] });
    const body = { accessor: target.accessor };
    const denied = await call('POST', '/v1/auth/token/lookup-accessor', body, target.client_token);
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /permission denied .*'sys\/tokens\//);
    const allowed = await call('POST', '/v1/auth/token/lookup-accessor', body);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.data.accessor, target.accessor);
  });

  test('an accessor that is a token is rejected without echo', async () => {
    const target = await create({ policies: ['web'] });
    const body = { accessor: target.client_token };
    const response = await call('POST', '/v1/auth/token/lookup-accessor', body);
    assert.equal(response.status, 400);
    assert.match(response.body.message, /looks like a token/);
  });

  test('revoke-self ends the token', async () => {
    const auth = await create({ policies: ['web'] });
    const revoked = await call('POST', '/v1/auth/token/revoke-self', undefined, auth.client_token);
    assert.equal(revoked.status, 204);
    const later = await call('GET', '/v1/auth/token/lookup-self', undefined, auth.client_token);
    assert.equal(later.status, 403);
  });

  test('revoke-accessor ends children and grandchildren', async () => {
    const parent = await create({ policies: ['web'] });
    const child = await create({ policies: ['web'] }, parent.client_token);
    const grandchild = await create({ policies: ['web'] }, child.client_token);
    const other = await create({ policies: ['web'] });

    const revoked = await call('POST', '/v1/auth/token/revoke-accessor', {
      accessor: parent.accessor,
    });
    assert.equal(revoked.status, 204);
    for (const token of [parent, child, grandchild].map((auth) => auth.client_token)) {
      const response = await call('GET', '/v1/auth/token/lookup-self', undefined, token);
      assert.equal(response.status, 403);
    }
    const kept = await call('GET', '/v1/auth/token/lookup-self', undefined, other.client_token);
    assert.equal(kept.status, 200);
  });

  test('no token appears in the server log or an error body', async () => {
    assert.ok(tokens.length > 10, `only ${tokens.length} tokens issued`);
    assert.ok(errorBodies.length > 5, `only ${errorBodies.length} errors seen`);
    const log = server.log();
    for (const token of tokens) {
      assert.equal(log.includes(token), false, 'a token is in the server log');
      assert.equal(log.includes(token.slice(4)), false, 'a token body is in the server log');
      for (const body of errorBodies) assert.equal(body.includes(token.slice(4)), false, body);
    }
    assert.doesNotMatch(log, /tsr_[A-Za-z0-9_-]/);
  });
});

describe('revoking the set-up root token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(RELAXED);
  });
  after(() => server.close());

  test('is refused until another administrator token exists', async () => {
    const refused = await request(server, 'POST', '/v1/auth/token/revoke-self');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'LAST_ADMIN_TOKEN');
    assert.match(refused.body.message, /grant admin on sys\/tokens\/\* and sys\/policies\/\*/);

    const body = { policy: ADMIN_POLICY };
    const written = await request(server, 'PUT', '/v1/sys/policies/acl/admin', body);
    assert.equal(written.status, 204);

    // A child of the root token would be revoked with it, so it does not count.
    const child = await request(server, 'POST', '/v1/auth/token/create', { policies: ['admin'] });
    assert.equal(child.body.auth.orphan, false);
    const stillRefused = await request(server, 'POST', '/v1/auth/token/revoke-self');
    assert.equal(stillRefused.status, 409);

    const orphan = await request(server, 'POST', '/v1/auth/token/create', {
      policies: ['admin'],
      no_parent: true,
    });
    assert.equal(orphan.body.auth.orphan, true);
    const admin = orphan.body.auth.client_token;

    const revoked = await request(server, 'POST', '/v1/auth/token/revoke-self');
    assert.equal(revoked.status, 204);
    const rootGone = await request(server, 'GET', '/v1/auth/token/lookup-self');
    assert.equal(rootGone.status, 403);

    const last = await request(server, 'POST', '/v1/auth/token/revoke-self', undefined, admin);
    assert.equal(last.status, 409);
    const listed = await request(server, 'GET', '/v1/sys/policies/acl?list=true', undefined, admin);
    assert.equal(listed.status, 200);
  });
});
