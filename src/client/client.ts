import { Agent, fetch, type Response } from 'undici';
import { ERRORS, type ErrorCode, TesseraError } from '../errors.ts';
import type { Secret } from '../mesos/types.ts';
import { parseListPrefix, parseSecretPath } from '../store/path.ts';
import { unreachableError } from './unreachable.ts';

/** Server address and credentials; the token is never printed. */
export interface ClientOptions {
  address: string;
  token?: string;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  /** PEM material for HTTPS: a CA bundle to trust, and a client certificate and key. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** The metadata of one version, as the server reports it (Vault's field names). */
export interface VersionMetadata {
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
  version: number;
}

/** One secret version read through the byte-exact API. */
export interface SecretRead {
  path: string;
  fields: Record<string, Buffer>;
  metadata: VersionMetadata;
}

/** A secret version to write in a batch. */
export interface SecretWrite {
  path: string;
  fields: Record<string, Buffer>;
  cas?: number;
}

/** The result of resolving one Mesos secret. */
export interface ResolvedSecret {
  data: Buffer;
  path?: string;
  field?: string;
  version?: number;
  /** For a backend without versions: a keyed fingerprint of the value. */
  fingerprint?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A typed client for Tessera's HTTP API. Every method throws `TesseraError` with the
 * server's error code, or UNREACHABLE when no response came.
 */
export class TesseraClient {
  readonly address: string;
  #token: string | undefined;
  #timeoutMs: number;
  #dispatcher: Agent | undefined;
  #tls: ClientOptions['tls'];

  constructor(options: ClientOptions) {
    this.address = checkAddress(options.address);
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#tls = options.tls;
    if (options.tls) this.#dispatcher = new Agent({ connect: { ...options.tls } });
  }

  /** Writes a new version of a secret with the given fields; returns its metadata. */
  async write(
    path: string,
    fields: Record<string, Buffer>,
    cas?: number,
  ): Promise<VersionMetadata> {
    const body = { fields: encode(fields), cas };
    return this.#call('POST', `/v1/tessera/data/${encodePath(path)}`, body);
  }

  /** Writes several secrets in one transaction: all of them, or none. */
  async writeBatch(writes: SecretWrite[]): Promise<(VersionMetadata & { path: string })[]> {
    const body = {
      writes: writes.map((w) => ({ path: w.path, cas: w.cas, fields: encode(w.fields) })),
    };
    const data = await this.#call<{ versions: (VersionMetadata & { path: string })[] }>(
      'POST',
      '/v1/tessera/batch',
      body,
    );
    return data.versions;
  }

  /** Reads a version (the current one when `version` is omitted) with its bytes. */
  async read(path: string, version?: number): Promise<SecretRead> {
    const query = version === undefined ? '' : `?version=${version}`;
    const data = await this.#call<{
      path: string;
      fields: Record<string, string>;
      metadata: VersionMetadata;
    }>('GET', `/v1/tessera/data/${encodePath(path)}${query}`);
    return { path: data.path, fields: decode(data.fields), metadata: data.metadata };
  }

  /** Reads a secret's metadata: versions, max versions, custom metadata. */
  async metadata(path: string): Promise<Record<string, unknown>> {
    return this.#call('GET', `/v1/secret/metadata/${encodePath(path)}`);
  }

  /** Lists the names directly under a prefix; folders end in `/`. */
  async list(prefix: string): Promise<string[]> {
    const data = await this.#call<{ keys: string[] }>(
      'GET',
      `/v1/secret/metadata/${encodePrefix(prefix)}?list=true`,
    );
    return data.keys;
  }

  /** Soft-deletes the given versions, or the current one when none are given. */
  async delete(path: string, versions?: number[]): Promise<void> {
    if (!versions || versions.length === 0) {
      await this.#call('DELETE', `/v1/secret/data/${encodePath(path)}`);
      return;
    }
    await this.#call('POST', `/v1/secret/delete/${encodePath(path)}`, { versions });
  }

  /** Restores soft-deleted versions. */
  async undelete(path: string, versions: number[]): Promise<void> {
    await this.#call('POST', `/v1/secret/undelete/${encodePath(path)}`, { versions });
  }

  /** Erases the ciphertext of the given versions for good. */
  async destroy(path: string, versions: number[]): Promise<void> {
    await this.#call('POST', `/v1/secret/destroy/${encodePath(path)}`, { versions });
  }

  /** Resolves Mesos `Secret` messages in one request; the result keeps their order. */
  async resolve(secrets: Secret[]): Promise<ResolvedSecret[]> {
    const data = await this.#call<{
      secrets: {
        data: string;
        path?: string;
        field?: string;
        version?: number;
        fingerprint?: string;
      }[];
    }>('POST', '/v1/tessera/resolve', { secrets });
    return data.secrets.map((item) => ({ ...item, data: Buffer.from(item.data, 'base64') }));
  }

  /**
   * Sends a request and returns the whole JSON body, Vault's envelope included (`data`,
   * `auth`, `warnings`), or undefined for 204 No Content. `route` starts with `/v1/`.
   */
  async request<T>(method: string, route: string, body?: unknown): Promise<T> {
    const response = await this.#fetch(method, route, body);
    if (response.status === 204) return undefined as T;

    const json = parseResponse(await response.text(), response.status);
    if (!response.ok) throw serverError(json, response.status);
    return json as T;
  }

  async #call<T>(method: string, route: string, body?: unknown): Promise<T> {
    const response = await this.#fetch(method, route, body);
    if (response.status === 204) return undefined as T;

    const text = await response.text();
    const json = parseResponse(text, response.status);
    if (!response.ok) throw serverError(json, response.status);
    return (json as { data: T }).data;
  }

  async #fetch(method: string, route: string, body: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.#token) headers['x-vault-token'] = this.#token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(this.address + route, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
        dispatcher: this.#dispatcher,
      });
    } catch (error) {
      throw await unreachableError(this.address, error, this.#tls);
    }
  }

  toJSON() {
    return { address: this.address, token: this.#token ? '<redacted>' : undefined };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `TesseraClient(${this.address})`;
  }
}

// Paths are checked here, not only by the server: a URL parser resolves `.` and `..`
// segments before sending, so `team-a/../team-b/db` would silently become `team-b/db`.
function encodePath(path: string): string {
  return encodeSegments(parseSecretPath(path));
}

function encodePrefix(prefix: string): string {
  return encodeSegments(parseListPrefix(prefix));
}

function encodeSegments(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function encode(fields: Record<string, Buffer>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.toString('base64')]));
}

function decode(fields: Record<string, string>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
}

function parseResponse(text: string, status: number): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // The body is not quoted: a misrouted proxy page could be large or hold anything.
    throw new TesseraError(
      'INTERNAL',
      `the server answered HTTP ${status} with a body that is not JSON; check TESSERA_ADDR points at a Tessera server`,
    );
  }
}

function serverError(json: unknown, status: number): TesseraError {
  const body = json as {
    code?: string;
    message?: string;
    errors?: string[];
    details?: Record<string, unknown>;
  };
  const code = body.code && body.code in ERRORS ? (body.code as ErrorCode) : statusCode(status);
  const message =
    body.message ?? body.errors?.join('; ') ?? `the server responded with HTTP ${status}`;
  return new TesseraError(code, message, body.details);
}

function statusCode(status: number): ErrorCode {
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status >= 500) return 'INTERNAL';
  return 'INVALID_ARGUMENT';
}

// The address as messages name it: the CLI takes it from the flag or the variable.
const ADDRESS = 'the server address (--address or TESSERA_ADDR)';

// Accepts only a plain http(s) URL: credentials in it would be echoed in messages.
function checkAddress(address: string): string {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${ADDRESS} is not a URL; give it as in http://127.0.0.1:8210`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${ADDRESS} must start with http:// or https://, not ${url.protocol}//`,
    );
  }
  if (url.username || url.password) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${ADDRESS} must not contain a user name or password; send the token in TESSERA_TOKEN`,
    );
  }
  // Routes are appended to the address, so a query or fragment would swallow them. A
  // path stays: it is the prefix under which a proxy may serve Tessera.
  if (url.search || url.hash) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${ADDRESS} must not contain a query (?) or fragment (#); give the server's URL only`,
    );
  }
  return address.replace(/\/+$/, '');
}
