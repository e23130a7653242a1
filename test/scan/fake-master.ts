import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake Mesos master on 127.0.0.1 that serves fixed `/state` and `/flags` bodies. */
export interface FakeMaster {
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Starts a master that returns `bodies[path]` as JSON for each path it has, and 404 for
 * any other, or `status` for every request when given. Close it in `after()`.
 */
export async function startFakeMaster(
  bodies: Record<string, unknown>,
  status?: 401 | 503,
): Promise<FakeMaster> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    requests.push(path);
    const body = bodies[path];
    if (status !== undefined || body === undefined) {
      response.writeHead(status ?? 404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
