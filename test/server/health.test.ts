import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

// Names that an unauthenticated caller must not learn from health.
const PREFIX = 'hostcanary7d/';
const VARIABLE_PREFIX = 'MSECCANARY_';

describe('health and metrics access', () => {
  let server: TestServer;
  let dir: string;
  const tokens: Record<string, string> = {};

  const health = async (token?: string) => {
    const headers: Record<string, string> = token ? { 'x-vault-token': token } : {};
    const response = await fetch(`${server.address}/v1/sys/health`, { headers });
    return { status: response.status, text: await response.text() };
  };

  const tokenFor = async (name: string, rules: unknown[]) => {
    const policy = JSON.stringify({ rules });
    const written = await request(server, 'PUT', `/v1/sys/policies/acl/${name}`, { policy });
    assert.equal(written.status, 204);
    const created = await request(server, 'POST', '/v1/auth/token/create', { policies: [name] });
    return created.body.auth.client_token as string;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-health-'));
    server = await startTestServer({
      auditFile: join(dir, 'audit.log'),
      mounts: [
        {
          prefix: PREFIX,
          spec: { kind: 'env', prefix: VARIABLE_PREFIX, variables: { MSECCANARY_DB: 'x' } },
        },
      ],
      failureLimit: { maxFailures: 3, windowMs: 60_000 },
    });
    tokens.monitor = await tokenFor('monitor', [
      { path: 'sys/health', capabilities: ['read'] },
      { path: 'sys/metrics', capabilities: ['read'] },
    ]);
    tokens.other = await tokenFor('other', [{ path: 'apps/*', capabilities: ['read'] }]);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('health without a token shows only ok flags', async () => {
    const response = await health();
    assert.equal(response.status, 200);
    const body = JSON.parse(response.text);
    assert.equal(body.initialized, true);
    assert.deepEqual(body.audit, { ok: true });
    assert.deepEqual(body.store, { ok: true });
    assert.deepEqual(body.backends, [{ ok: true }]);
    assert.doesNotMatch(response.text, /hostcanary7d|MSECCANARY|audit\.log|tessera-health/);
  });

  test('health with a token lacking sys/health shows only ok flags', async () => {
    const response = await health(tokens.other);
    assert.equal(response.status, 200);
    assert.doesNotMatch(response.text, /hostcanary7d|MSECCANARY/);
  });

  test('health with read on sys/health shows detail', async () => {
    const response = await health(tokens.monitor);
    assert.equal(response.status, 200);
    const body = JSON.parse(response.text);
    assert.deepEqual(body.store, { ok: true, reason: null });
    assert.equal(body.backends[0].prefix, PREFIX);
    assert.match(body.backends[0].backend, /MSECCANARY_/);
  });

  test('metrics need a token', async () => {
    const response = await fetch(`${server.address}/v1/sys/metrics`);
    const body = (await response.json()) as { code: string };
    assert.equal(response.status, 401);
    assert.equal(body.code, 'TOKEN_MISSING');
  });

  test('metrics need read on sys/metrics', async () => {
    const denied = await fetch(`${server.address}/v1/sys/metrics`, {
      headers: { authorization: `Bearer ${tokens.other}` },
    });
    assert.equal(denied.status, 403);
    const allowed = await fetch(`${server.address}/v1/sys/metrics`, {
      headers: { authorization: `Bearer ${tokens.monitor}` },
    });
    assert.equal(allowed.status, 200);
    assert.match(await allowed.text(), /tessera_http_requests_total/);
  });

  // Last, because it blocks this client address.
  test('blocked address gets health but no detail', async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await health(`tsr_wrong-guess-${i}`);
      assert.equal(response.status, 200);
      assert.doesNotMatch(response.text, /hostcanary7d/);
    }
    const blocked = await request(
      server,
      'GET',
      '/v1/secret/data/apps/x',
      undefined,
      tokens.monitor,
    );
    assert.equal(blocked.status, 429);

    const response = await health(tokens.monitor);
    assert.equal(response.status, 200);
    assert.doesNotMatch(response.text, /hostcanary7d/);
    const metrics = await fetch(`${server.address}/v1/sys/metrics`, {
      headers: { authorization: `Bearer ${tokens.monitor}` },
    });
    assert.equal(metrics.status, 429);
  });
});
