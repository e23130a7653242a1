import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseEvents } from '../../src/client/watch.ts';
import { request, startTestServer, type TestServer } from '../helpers/server.ts';

const TIMEOUT_MS = 1000;
// Node checks deadlines every 500 ms (DEADLINE_CHECK_MS); the rest is slack for a loaded machine.
const CUT_OFF_WITHIN_MS = TIMEOUT_MS + 1500;

/**
 * Opens a connection, sends `head` at once, then `drip` one byte every 200 ms, and
 * resolves with the status line and the time until the server closed the connection.
 * Gives up after 10 s.
 */
function sendSlowly(port: number, head: string, drip: string) {
  return new Promise<{ statusLine: string; elapsedMs: number }>((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let received = '';
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < drip.length) socket.write(drip[sent++] ?? '');
    }, 200);
    const giveUp = setTimeout(() => socket.destroy(new Error('still open after 10 s')), 10_000);
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ statusLine: received.split('\r\n')[0] ?? '', elapsedMs: Date.now() - started });
    });
    socket.on('error', (error) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      reject(error);
    });
  });
}

describe('request deadline', () => {
  let server: TestServer;
  let port: number;
  before(async () => {
    server = await startTestServer({
      limits: { maxSecretBytes: 1024, requestTimeoutMs: TIMEOUT_MS },
    });
    port = Number(new URL(server.address).port);
  });
  after(() => server.close());

  test('a body sent byte by byte is cut off on time', async () => {
    const body = '{"data":{"value":"sent-slowly"}}';
    const head =
      'POST /v1/secret/data/slow/body HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const result = await sendSlowly(port, head, body);
    assert.equal(result.statusLine, 'HTTP/1.1 408 Request Timeout');
    assert.ok(result.elapsedMs < CUT_OFF_WITHIN_MS, `cut off after ${result.elapsedMs} ms`);
  });

  test('a body that never reaches its Content-Length is cut off on time', async () => {
    const head =
      'POST /v1/secret/data/slow/short HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    const result = await sendSlowly(port, head, 'x'.repeat(20));
    assert.equal(result.statusLine, 'HTTP/1.1 408 Request Timeout');
    assert.ok(result.elapsedMs < CUT_OFF_WITHIN_MS, `cut off after ${result.elapsedMs} ms`);
  });

  test('headers sent byte by byte are cut off on time', async () => {
    const headers = `GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'p'.repeat(40)}\r\n\r\n`;
    const result = await sendSlowly(port, '', headers);
    assert.equal(result.statusLine, 'HTTP/1.1 408 Request Timeout');
    assert.ok(result.elapsedMs < CUT_OFF_WITHIN_MS, `cut off after ${result.elapsedMs} ms`);
  });

  test('a watch stream outlives the request timeout', async () => {
    const abort = new AbortController();
    const response = await fetch(`${server.address}/v1/tessera/watch?path=slow/watched`, {
      headers: { 'x-vault-token': server.rootToken },
      signal: abort.signal,
    });
    assert.equal(response.status, 200);
    const events: string[] = [];
    const reading = (async () => {
      const body = response.body as unknown as AsyncIterable<Uint8Array>;
      for await (const event of parseEvents(body)) events.push(event.event);
    })().catch(() => undefined);
    try {
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2.5));
      const written = await request(server, 'POST', '/v1/secret/data/slow/watched', {
        data: { value: 'v1' },
      });
      assert.equal(written.status, 200);
      for (let i = 0; i < 40 && events.length < 2; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(events, ['ready', 'change']);
    } finally {
      abort.abort();
      await reading;
    }
  });
});
