import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ChangeWatch, parseEvents, type WatchEvent } from '../../src/client/watch.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const CANARY = 'canary-value-never-in-events';

async function put(server: TestServer, path: string, value: string) {
  const body = { fields: { value: Buffer.from(value).toString('base64') } };
  assert.equal((await request(server, 'POST', `/v1/tessera/data/${path}`, body)).status, 200);
}

// Opens a raw stream and returns its events as they come, with the raw text for checks.
async function openStream(server: TestServer, query: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const response = await fetch(`${server.address}/v1/tessera/watch?${query}`, {
    headers: { 'x-vault-token': server.rootToken, ...headers },
    signal: abort.signal,
  });
  const events: { id?: string; event: string; data: string }[] = [];
  let raw = '';
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  const tee = (async function* () {
    for await (const chunk of body) {
      raw += Buffer.from(chunk).toString('utf8');
      yield chunk;
    }
  })();
  const reading = (async () => {
    for await (const event of parseEvents(tee)) events.push(event);
  })().catch(() => undefined);
  const waitFor = async (count: number) => {
    for (let i = 0; i < 100 && events.length < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const close = async () => {
    abort.abort();
    await reading;
  };
  return { response, events, raw: () => raw, waitFor, close };
}

describe('GET /v1/tessera/watch', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('streams changes without values', async () => {
    const stream = await openStream(server, 'path=watch/a&path=watch/b');
    try {
      assert.equal(stream.response.status, 200);
      assert.match(stream.response.headers.get('content-type') ?? '', /text\/event-stream/);
      await stream.waitFor(1);
      await put(server, 'watch/a', CANARY);
      await put(server, 'watch/other', CANARY);
      await put(server, 'watch/b', CANARY);
      await stream.waitFor(3);
      assert.deepEqual(
        stream.events.map((event) => event.event),
        ['ready', 'change', 'change'],
      );
      assert.deepEqual(JSON.parse(stream.events[1]!.data), {
        path: 'watch/a',
        version: 1,
        kind: 'written',
      });
      assert.ok(!stream.raw().includes(CANARY));
      assert.ok(!stream.raw().includes(Buffer.from(CANARY).toString('base64')));
    } finally {
      await stream.close();
    }
  });

  it('replays missed changes by Last-Event-ID', async () => {
    const first = await openStream(server, 'path=watch/replay');
    await first.waitFor(1);
    const lastId = first.events[0]!.id as string;
    await first.close();

    await put(server, 'watch/replay', 'one-value');
    await put(server, 'watch/replay', 'two-value');
    const second = await openStream(server, 'path=watch/replay', { 'last-event-id': lastId });
    try {
      await second.waitFor(3);
      const versions = second.events
        .filter((event) => event.event === 'change')
        .map((event) => JSON.parse(event.data).version);
      assert.deepEqual(versions, [1, 2]);
      assert.equal(second.events.at(-1)?.event, 'ready');
    } finally {
      await second.close();
    }
  });

  it('resets on an unknown event id', async () => {
    const stream = await openStream(server, 'path=watch/reset', { 'last-event-id': 'gone.7' });
    try {
      await stream.waitFor(1);
      assert.equal(stream.events[0]?.event, 'reset');
    } finally {
      await stream.close();
    }
  });

  it('rejects a path the token may not read', async () => {
    const policy = { rules: [{ path: 'watch/other', capabilities: ['read'] }] };
    const stored = await request(server, 'PUT', '/v1/sys/policies/acl/watch-other', {
      policy: JSON.stringify(policy),
    });
    assert.equal(stored.status, 204);
    const created = await request(server, 'POST', '/v1/auth/token/create', {
      policies: ['watch-other'],
    });
    const token = created.body?.auth?.client_token as string | undefined;
    assert.ok(token, JSON.stringify(created.body));
    const response = await fetch(`${server.address}/v1/tessera/watch?path=watch/a`, {
      headers: { 'x-vault-token': token },
    });
    assert.equal(response.status, 403);
    await response.body?.cancel();
  });

  // Reads a stream to its end, or gives up after `ms`; returns its text and whether it ended.
  async function readToEnd(response: Response, ms: number) {
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reader.cancel();
    }, ms);
    for (;;) {
      const chunk = await reader.read().catch(() => undefined);
      if (chunk === undefined || chunk.done) break;
      text += Buffer.from(chunk.value).toString('utf8');
    }
    clearTimeout(timer);
    return { text, ended: !timedOut };
  }

  for (const [name, withdraw] of [
    [
      'ends the stream of a revoked token',
      (accessor: string) => request(server, 'POST', '/v1/auth/token/revoke-accessor', { accessor }),
    ],
    [
      'ends the stream when the policy no longer allows reading',
      () =>
        request(server, 'PUT', '/v1/sys/policies/acl/watch-revoked', {
          policy: JSON.stringify({ rules: [{ path: 'watch/*', capabilities: ['deny'] }] }),
        }),
    ],
  ] as const) {
    it(name, async () => {
      const policy = { rules: [{ path: 'watch/*', capabilities: ['read'] }] };
      await request(server, 'PUT', '/v1/sys/policies/acl/watch-revoked', {
        policy: JSON.stringify(policy),
      });
      const created = await request(server, 'POST', '/v1/auth/token/create', {
        policies: ['watch-revoked'],
      });
      const { client_token: token, accessor } = created.body.auth;
      const response = await fetch(`${server.address}/v1/tessera/watch?path=watch/gone`, {
        headers: { 'x-vault-token': token },
      });
      assert.equal(response.status, 200);

      assert.ok([200, 204].includes((await withdraw(accessor)).status));
      await put(server, 'watch/gone', CANARY);
      const { text, ended } = await readToEnd(response, 3000);
      assert.equal(ended, true, 'the stream stayed open');
      assert.match(text, /event: ready/);
      assert.doesNotMatch(text, /event: change/);
    });
  }

  it('rejects a watch without paths', async () => {
    const response = await request(server, 'GET', '/v1/tessera/watch');
    assert.equal(response.status, 400);
  });

  it('stops ChangeWatch on a rejected token', async () => {
    const logs: string[] = [];
    const invalid = 'tsr_invalid-token-never-logged';
    const watch = new ChangeWatch({
      address: server.address,
      token: invalid,
      paths: ['watch/rejected'],
      onEvent: () => undefined,
      log: (line) => logs.push(line),
      backoff: { initialMs: 10, maxMs: 20 },
    });
    watch.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(logs.length, 1, logs.join('\n'));
      assert.match(logs[0] ?? '', /rejected with HTTP 403 \(PERMISSION_DENIED\).*not reconnecting/);
      assert.doesNotMatch(logs[0] ?? '', new RegExp(invalid));
    } finally {
      await watch.stop();
    }
  });

  it('delivers changes to ChangeWatch', async () => {
    const seen: WatchEvent[] = [];
    const watch = new ChangeWatch({
      address: server.address,
      token: server.rootToken,
      paths: ['watch/client'],
      onEvent: (event) => seen.push(event),
      log: () => undefined,
    });
    watch.start();
    try {
      for (let i = 0; i < 100 && seen.length < 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await put(server, 'watch/client', 'client-value');
      for (let i = 0; i < 100 && seen.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(seen[0], { kind: 'ready', reconnected: false });
      assert.deepEqual(seen[1], {
        kind: 'change',
        path: 'watch/client',
        version: 1,
        change: 'written',
      });
    } finally {
      await watch.stop();
    }
  });
});
