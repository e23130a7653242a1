import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';

import { type MesosFailure, type MesosRead, readMesosJson } from '../../src/mesos/mesos-http.ts';

const MIB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'a');
// A flood stops after this many chunks (16 MiB) even if the client never closes.
const MAX_FLOOD_CHUNKS = 256;

function failureOf(result: MesosRead<unknown>): MesosFailure {
  assert.equal(result.ok, false, 'the read failed');
  return (result as { failure: MesosFailure }).failure;
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface Flood {
  chunksSent: number;
  closed: boolean;
}

// Sends a JSON string that never ends, one chunk at a time, until the client closes the
// connection or MAX_FLOOD_CHUNKS have gone.
function floodHandler(flood: Flood): Handler {
  return (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"slaves": ["');
    response.on('close', () => {
      flood.closed = true;
    });
    const pump = () => {
      while (!flood.closed && flood.chunksSent < MAX_FLOOD_CHUNKS) {
        flood.chunksSent += 1;
        if (!response.write(CHUNK)) {
          response.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
}

describe('readMesosJson against odd servers', () => {
  const flood: Flood = { chunksSent: 0, closed: false };
  const routes: Record<string, Handler> = {
    '/stall': (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"slaves": [');
    },
    '/flood': floodHandler(flood),
    '/declared-large': (_request, response) => {
      response.writeHead(200, { 'content-length': String(8 * MIB) });
      response.write('{');
    },
    '/exact': (_request, response) => {
      const body = `"${'b'.repeat(MIB - 2)}"`;
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    },
    '/locked': (_request, response) => {
      response.writeHead(401).end();
    },
    '/cut': (request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"slaves": [', () => request.socket.destroy());
    },
  };
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((request, response) => routes[request.url ?? '']?.(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const read = (path: string, maxBodyBytes = MIB) =>
    readMesosJson(new URL(path, base), { role: 'master' }, { timeoutMs: 500, maxBodyBytes });

  test('stalled body is a timeout', async () => {
    const failure = failureOf(await read('/stall'));
    assert.equal(failure.kind, 'timeout');
    assert.match(failure.message, /whole response within 500 ms/);
    assert.match(failure.message, /raise --timeout-ms/);
  });

  test('flooding body stops at the limit', async () => {
    const result = await read('/flood');
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.failure.kind, 'too-large');
    assert.match(
      !result.ok ? result.failure.message : '',
      /larger than 1 MiB; raise --max-body-mib/,
    );
    // The client closes the connection, so the server stops well before MAX_FLOOD_CHUNKS.
    const deadline = Date.now() + 2000;
    while (!flood.closed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(flood.closed, 'the connection was closed');
    assert.ok(flood.chunksSent < MAX_FLOOD_CHUNKS, `sent ${flood.chunksSent} chunks`);
  });

  test('declared length over the limit is too large', async () => {
    assert.equal(failureOf(await read('/declared-large')).kind, 'too-large');
  });

  test('body of exactly the limit is read', async () => {
    const result = await read('/exact');
    assert.ok(result.ok, 'the read succeeded');
    assert.equal((result.body as string).length, MIB - 2);
  });

  test('limit of one byte less rejects it', async () => {
    const failure = failureOf(await read('/exact', MIB - 1));
    assert.equal(failure.kind, 'too-large');
    assert.match(failure.message, /larger than 1048575 bytes/);
  });

  test('body cut short names the closed connection', async () => {
    const failure = failureOf(await read('/cut'));
    assert.equal(failure.kind, 'unreachable');
    assert.match(failure.message, /closed the connection before the end/);
    assert.doesNotMatch(failure.message, /not JSON/);
  });

  test('401 without credentials asks for them', async () => {
    const failure = failureOf(await read('/locked'));
    assert.equal(failure.kind, 'unauthorized');
    assert.match(failure.message, /requires authentication \(401 Unauthorized\); set/);
  });

  test('401 with credentials says they were rejected', async () => {
    const url = new URL('/locked', base);
    const options = { timeoutMs: 500, authorization: 'Basic dGVzc2VyYTp4' };
    const failure = failureOf(await readMesosJson(url, { role: 'master' }, options));
    assert.equal(failure.kind, 'unauthorized');
    assert.match(failure.message, /rejected the principal and password sent \(401/);
  });
});
