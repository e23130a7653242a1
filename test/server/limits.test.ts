import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

describe('request limits', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      limits: { maxSecretBytes: 1024, requestTimeoutMs: 10_000 },
      failureLimit: { maxFailures: 3, windowMs: 60_000 },
    });
  });
  after(() => server.close());

  test('a secret over --max-secret-bytes is refused naming the limit', async () => {
    const response = await request(server, 'POST', '/v1/secret/data/big/one', {
      data: { value: 'x'.repeat(1025) },
    });
    assert.equal(response.status, 413);
    assert.equal(response.body.code, 'BODY_TOO_LARGE');
    assert.match(response.body.message, /big\/one/);
    assert.match(response.body.message, /1024 bytes/);
  });

  test('a secret at the limit is accepted', async () => {
    const response = await request(server, 'POST', '/v1/secret/data/big/two', {
      data: { value: 'x'.repeat(1024) },
    });
    assert.equal(response.status, 200);
  });

  test('a body over the body limit gets 413 without its content', async () => {
    const response = await request(server, 'POST', '/v1/secret/data/big/three', {
      data: { value: `CANARY-${'y'.repeat(3 * 1024 * 1024)}` },
    });
    assert.equal(response.status, 413);
    assert.equal(response.body.code, 'BODY_TOO_LARGE');
    assert.doesNotMatch(JSON.stringify(response.body), /CANARY/);
  });

  test('metrics count requests by route pattern, not by path', async () => {
    const response = await fetch(`${server.address}/v1/sys/metrics`, {
      headers: { authorization: `Bearer ${server.rootToken}` },
    });
    const text = await response.text();
    assert.equal(response.status, 200);
    assert.match(
      text,
      /tessera_http_requests_total\{method="POST",route="\/v1\/secret\/data\/\*",status="200"\} \d+/,
    );
    assert.match(text, /tessera_http_request_duration_seconds_bucket/);
    assert.match(text, /tessera_tokens_alive \d+/);
    assert.match(text, /tessera_audit_failures_total 0/);
    assert.doesNotMatch(text, /big\/two/);
  });

  test('health answers 200 with Vault fields', async () => {
    const response = await fetch(`${server.address}/v1/sys/health`);
    const body = (await response.json()) as { initialized: boolean; sealed: boolean };
    assert.equal(response.status, 200);
    assert.equal(body.initialized, true);
    assert.equal(body.sealed, false);
  });

  test('repeated failed authentications get 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await request(
        server,
        'GET',
        '/v1/secret/data/big/two',
        undefined,
        `tsr_bad${i}`,
      );
      assert.equal(response.status, 403);
    }
    const blocked = await fetch(`${server.address}/v1/secret/data/big/two`, {
      headers: { 'x-vault-token': server.rootToken },
    });
    assert.equal(blocked.status, 429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    const body = (await blocked.json()) as { code: string };
    assert.equal(body.code, 'RATE_LIMITED');
  });
});
