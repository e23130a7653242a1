import { connect } from 'node:net';
import {
  type RunningServer,
  SERVER_DEFAULTS,
  type ServerConfig,
  startServer,
} from '../../src/server/start.ts';
import { capturedLogger } from './log.ts';

/** A development server on a free loopback port, with its log captured in memory. */
export interface TestServer {
  server: RunningServer;
  address: string;
  rootToken: string;
  /** Everything the server logged so far, as one string. */
  log(): string;
  close(): Promise<void>;
}

/** Starts an in-memory server on 127.0.0.1 and a random port; close it in `after()`. */
export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const { logger, text } = capturedLogger();
  const server = await startServer(
    {
      dev: true,
      host: '127.0.0.1',
      port: 0,
      limits: { maxSecretBytes: SERVER_DEFAULTS.maxSecretBytes, requestTimeoutMs: 10_000 },
      failureLimit: { ...SERVER_DEFAULTS.failureLimit },
      ...overrides,
    },
    logger,
  );
  if (!server.rootToken) throw new Error('a development server must create a root token');
  return {
    server,
    address: server.address,
    rootToken: server.rootToken,
    log: text,
    close: () => server.close(),
  };
}

/** Sends a JSON request with the token and returns status and parsed body. */
export function request(
  target: TestServer,
  method: string,
  route: string,
  body?: unknown,
  token: string | undefined = target.rootToken,
): Promise<{ status: number; body: any }> {
  return requestAt(target.address, token, method, route, body);
}

/** Sends a JSON request to the server at `address`; gives up after 10 s. */
export async function requestAt(
  address: string,
  token: string | undefined,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token) headers['x-vault-token'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(address + route, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Sends a GET with the request target exactly as written, over a plain socket: fetch()
 * and inject() both resolve `.` and `..` segments before sending.
 */
export async function rawGet(
  target: TestServer,
  path: string,
  token: string = target.rootToken,
): Promise<{ status: number; body: any }> {
  const head = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${token}\r\nConnection: close\r\n\r\n`;
  return rawRequest(target, head);
}

/**
 * Sends `head` (a request line, headers and any body) over a plain socket and returns the
 * status, the whole response text and its JSON body; gives up after 5 s.
 */
export async function rawRequest(
  target: TestServer,
  head: string,
): Promise<{ status: number; text: string; body: any }> {
  const { port } = new URL(target.address);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(head));
    let received = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    socket.on('end', () => resolve(received));
    // A server that closes the connection after its response may reset it while the
    // client still writes.
    socket.on('error', (error) => (received ? resolve(received) : reject(error)));
  });
  const status = Number(text.split(' ')[1]);
  return { status, text, body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) };
}
