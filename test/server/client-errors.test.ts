import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { rawRequest, startTestServer, type TestServer } from '../helpers/server.ts';

// Errors that Node's HTTP parser raises before a route runs get the documented body too.
describe('client errors', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const assertDocumentedShape = (body: Record<string, unknown>) => {
    assert.deepEqual(Object.keys(body).sort(), ['code', 'errors', 'message', 'request_id']);
    assert.equal((body.errors as string[])[0], body.message);
    assert.equal(typeof body.request_id, 'string');
  };

  test('LIST verb names the GET alternative', async () => {
    const head = `LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${server.rootToken}\r\n\r\n`;
    const response = await rawRequest(server, head);
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'INVALID_ARGUMENT');
    assert.match(response.body.message, /\?list=true instead of LIST/);
    assertDocumentedShape(response.body);
  });

  test('oversized headers get HEADERS_TOO_LARGE', async () => {
    const head = `GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const response = await rawRequest(server, head);
    assert.equal(response.status, 431);
    assert.equal(response.body.code, 'HEADERS_TOO_LARGE');
    assertDocumentedShape(response.body);
  });

  // Node checks request timeouts every 30 s, so the test raises the parser's timeout
  // error on a real connection instead of waiting for it.
  test('request timeout gets REQUEST_TIMEOUT', async () => {
    const accepted = new Promise<Socket>((resolve) => {
      server.server.app.server.once('connection', resolve);
    });
    const { port } = new URL(server.address);
    const client = connect(Number(port), '127.0.0.1');
    const received = new Promise<string>((resolve) => {
      let text = '';
      client.on('data', (chunk) => {
        text += chunk.toString();
      });
      client.on('close', () => resolve(text));
    });
    client.write('POST /v1/secret/data/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const socket = await accepted;
    const timeout = Object.assign(new Error('Request timeout'), {
      code: 'ERR_HTTP_REQUEST_TIMEOUT',
    });
    server.server.app.server.emit('clientError', timeout, socket);

    const text = await received;
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    assert.equal(body.code, 'REQUEST_TIMEOUT');
    assert.match(body.message, /--request-timeout/);
    assertDocumentedShape(body);
  });
});
