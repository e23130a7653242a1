import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A mount in the fake Vault's mount table, as `sys/mounts` lists it. */
export interface FakeMount {
  type: 'kv' | 'generic' | 'pki';
  version: '1' | '2';
}

/** One version of a KV v2 secret. */
export interface FakeVersion {
  data: Record<string, unknown>;
  deleted?: boolean;
  destroyed?: boolean;
}

interface FakeToken {
  expiresAt: number;
  maxExpiresAt: number;
  /** API paths this token may read (exact, or a prefix ending in '*'); undefined: all. */
  readable?: string[];
}

/** What a request to the fake Vault looked like, for assertions. */
export interface SeenRequest {
  method: string;
  path: string;
  token: string | undefined;
}

/**
 * A local HTTP server that responds as HashiCorp Vault's API documentation shows: the mount
 * table (with `options.version`), KV v1 and v2 reads (a soft-deleted or destroyed v2
 * version is 404 with `data.data` null and its metadata), token lookup-self and
 * renew-self (with the max_ttl warning), AppRole login, 403 for an expired or unknown
 * token, and injected transient errors.
 */
export class FakeVault {
  readonly mounts = new Map<string, FakeMount>();
  readonly v1 = new Map<string, Record<string, unknown>>();
  readonly v2 = new Map<string, FakeVersion[]>();
  readonly tokens = new Map<string, FakeToken>();
  readonly seen: SeenRequest[] = [];
  /** Statuses returned, one per request, before any real response. */
  readonly faults: number[] = [];
  /** The AppRole credentials that log in, and the TTL of the tokens it issues. */
  approle = { roleId: 'role-PLACEHOLDER', secretId: 'secret-id-PLACEHOLDER', ttlSeconds: 300 };
  /** Whether `sys/internal/ui/mounts` responds; old servers only have `sys/mounts`. */
  uiMounts = true;
  address = '';
  #server: Server | undefined;

  /** Adds a token valid for `ttlSeconds`, renewable up to `maxTtlSeconds`. */
  addToken(token: string, ttlSeconds: number, maxTtlSeconds = ttlSeconds, readable?: string[]) {
    const now = Date.now();
    this.tokens.set(token, {
      expiresAt: now + ttlSeconds * 1000,
      maxExpiresAt: now + maxTtlSeconds * 1000,
      readable,
    });
  }

  /** Makes `token` expire now, as its TTL running out would. */
  expire(token: string) {
    const entry = this.tokens.get(token);
    if (entry) entry.expiresAt = 0;
  }

  /** Starts listening on 127.0.0.1 and a free port. */
  async start(): Promise<string> {
    this.#server = createServer((request, response) => {
      void this.#handle(request, response);
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as { port: number };
    this.address = `http://127.0.0.1:${port}`;
    return this.address;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/^\/v1\//, '');
    const token = header(request, 'x-vault-token');
    this.seen.push({ method: request.method ?? '', path, token });
    const body = await readBody(request);

    const fault = this.faults.shift();
    if (fault !== undefined) return send(response, fault, { errors: ['injected fault'] });

    if (path === 'auth/approle/login') return this.#login(response, body);
    const caller = token === undefined ? undefined : this.tokens.get(token);
    if (!caller || caller.expiresAt <= Date.now()) {
      return send(response, 403, { errors: ['permission denied'] });
    }
    if (path === 'sys/internal/ui/mounts' && this.uiMounts) {
      return send(response, 200, { data: { secret: this.#table(), auth: {} } });
    }
    if (path === 'sys/mounts')
      return send(response, 200, { ...this.#table(), data: this.#table() });
    if (path === 'auth/token/lookup-self') return this.#lookup(response, caller);
    if (path === 'auth/token/renew-self') return this.#renew(response, caller, body);
    if (request.method !== 'GET') return send(response, 405, { errors: [] });
    if (caller.readable && !caller.readable.some((rule) => matches(rule, path))) {
      return send(response, 403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
    }
    return this.#read(response, path, url.searchParams.get('version'));
  }

  #table() {
    const table: Record<string, unknown> = {};
    for (const [path, mount] of this.mounts) {
      table[path] = { type: mount.type, options: { version: mount.version }, description: '' };
    }
    return table;
  }

  #login(response: ServerResponse, body: any) {
    if (body?.role_id !== this.approle.roleId || body?.secret_id !== this.approle.secretId) {
      return send(response, 400, { errors: ['invalid role or secret ID'] });
    }
    const token = `hvs.PLACEHOLDER-${randomUUID()}`;
    this.addToken(token, this.approle.ttlSeconds, this.approle.ttlSeconds * 10);
    const auth = { client_token: token, lease_duration: this.approle.ttlSeconds, renewable: true };
    return send(response, 200, { auth, warnings: null });
  }

  #lookup(response: ServerResponse, caller: FakeToken) {
    const ttl = Math.max(0, Math.round((caller.expiresAt - Date.now()) / 1000));
    return send(response, 200, { data: { ttl, renewable: true, policies: ['default'] } });
  }

  // Vault caps a renewal at the token's max TTL and returns a warning about it.
  #renew(response: ServerResponse, caller: FakeToken, body: any) {
    const requested = Number.parseInt(String(body?.increment ?? '86400'), 10) || 86400;
    const wanted = Date.now() + requested * 1000;
    const capped = wanted > caller.maxExpiresAt;
    caller.expiresAt = Math.min(wanted, caller.maxExpiresAt);
    const lease = Math.round((caller.expiresAt - Date.now()) / 1000);
    const warnings = capped
      ? [
          `TTL of "${requested}s" exceeded the effective max_ttl of "${lease}s"; TTL value is capped accordingly`,
        ]
      : null;
    return send(response, 200, { auth: { lease_duration: lease, renewable: true }, warnings });
  }

  #read(response: ServerResponse, path: string, version: string | null) {
    const mount = [...this.mounts.keys()]
      .filter((prefix) => path.startsWith(prefix))
      .sort((a, b) => b.length - a.length)[0];
    const kv = mount === undefined ? undefined : this.mounts.get(mount);
    if (mount === undefined || !kv || kv.type === 'pki') return send(response, 404, { errors: [] });
    if (kv.version === '1') {
      const data = this.v1.get(path);
      return data ? send(response, 200, envelope(data)) : send(response, 404, { errors: [] });
    }
    const rest = path.slice(mount.length);
    if (!rest.startsWith('data/')) return send(response, 404, { errors: [] });
    const versions = this.v2.get(mount + rest.slice('data/'.length));
    const number = version && version !== '0' ? Number(version) : (versions?.length ?? 0);
    const found = versions?.[number - 1];
    if (!found) return send(response, 404, { errors: [] });
    const metadata = {
      created_time: '2024-01-01T00:00:00.000000Z',
      custom_metadata: null,
      deletion_time: found.deleted ? '2024-01-02T00:00:00.000000Z' : '',
      destroyed: found.destroyed === true,
      version: number,
    };
    const gone = found.deleted || found.destroyed;
    return send(response, gone ? 404 : 200, envelope({ data: gone ? null : found.data, metadata }));
  }
}

function envelope(data: unknown) {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
  };
}

function matches(rule: string, path: string): boolean {
  return rule.endsWith('*') ? path.startsWith(rule.slice(0, -1)) : rule === path;
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

async function readBody(request: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function send(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
