import type { Logger } from 'pino';
import { TesseraError } from '../../errors.ts';
import type { VersionInfo } from '../../store/store.ts';
import type { Backend, BackendHealth, BackendRead } from '../backend.ts';
import { authFailed, VaultAuth, type VaultAuthConfig } from './auth.ts';
import { DEFAULT_VAULT_TIMING, VaultHttp, type VaultResponse, type VaultTiming } from './http.ts';
import { apiPathOf, fieldsOf, findKvMount, type KvMount, kvMountsOf } from './kv.ts';

/** Settings of a Vault backend. */
export interface VaultBackendOptions {
  /** Vault's address, as `https://vault.example:8200`; it must not carry credentials. */
  address: string;
  /** The Vault path that the mount prefix maps to, as `secret/shared/`; '' for Vault's root. */
  path: string;
  auth: VaultAuthConfig;
  /** A KV mount given in the configuration; without it, Vault's mount table decides. */
  kv?: KvMount;
  /** How long a read is served from memory, in milliseconds; 0 turns the cache off. */
  cacheTtlMs: number;
  timing?: Partial<VaultTiming>;
  logger?: Logger;
}

interface CacheEntry {
  read: BackendRead;
  expiresAt: number;
}

/**
 * Serves secrets from a HashiCorp Vault KV version 1 or 2 mount, read-only. The version of
 * each mount comes from Vault's mount table (or the configuration), never from a path or
 * the shape of a response. A 403 makes it check its token, log in again once and retry;
 * a 403 that remains is reported as a policy denial when the token still works, and as
 * BACKEND_AUTH_FAILED when it does not. Reads are cached for `cacheTtlMs`.
 */
export class VaultBackend implements Backend {
  readonly kind = 'vault';
  readonly description: string;
  readonly #options: VaultBackendOptions;
  readonly #http: VaultHttp;
  readonly #auth: VaultAuth;
  readonly #cache = new Map<string, CacheEntry>();
  #mounts: KvMount[] | undefined;
  #problem: string | null = null;

  constructor(options: VaultBackendOptions) {
    const url = new URL(options.address);
    if (url.username || url.password || url.search) {
      throw new TesseraError(
        'CONFIG_INVALID',
        `the Vault address of a mount must not carry credentials or a query; give them as token_file or role_id_file and secret_id_file`,
      );
    }
    const timing = { ...DEFAULT_VAULT_TIMING, ...options.timing };
    this.#options = { ...options, path: folder(options.path) };
    this.#http = new VaultHttp(options.address, timing, options.logger);
    this.#auth = new VaultAuth(this.#http, options.auth, options.logger);
    this.description = `the Vault backend ${this.#http.origin}/v1/${this.#options.path}`;
    this.#mounts = options.kv ? [{ ...options.kv, path: folder(options.kv.path) }] : undefined;
  }

  async read(path: string, version?: number): Promise<BackendRead> {
    const vaultPath = this.#options.path + path;
    const key = `${vaultPath}?${version ?? ''}`;
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return copy(cached.read);

    try {
      const read = await this.#read(path, vaultPath, version);
      if (this.#options.cacheTtlMs > 0) {
        this.#cache.set(key, {
          read: copy(read),
          expiresAt: Date.now() + this.#options.cacheTtlMs,
        });
      }
      this.#problem = null;
      return read;
    } catch (error) {
      this.#cache.delete(key);
      if (error instanceof TesseraError && error.status >= 500) this.#problem = error.message;
      throw error;
    }
  }

  health(): BackendHealth {
    return { ok: this.#problem === null, reason: this.#problem };
  }

  async close(): Promise<void> {
    this.#auth.close();
    this.#cache.clear();
  }

  async #read(path: string, vaultPath: string, version?: number): Promise<BackendRead> {
    const mount = await this.#mountFor(vaultPath);
    const apiPath = apiPathOf(mount, vaultPath);
    if (version !== undefined && mount.version === 1) {
      throw new TesseraError(
        'NOT_FOUND',
        `secret '${path}' has no version ${version}: Vault mount '${mount.path}' is KV version 1, which keeps one value; read it without a version`,
        { path, version },
      );
    }
    const query = version === undefined ? undefined : { version: String(version) };
    const response = await this.#get(apiPath, mount, query);
    return mount.version === 2 ? readV2(response, path, apiPath) : readV1(response, path, apiPath);
  }

  async #get(apiPath: string, mount: KvMount, query?: Record<string, string>) {
    const response = await this.#send(apiPath, query);
    if (response.status === 403) throw policyDenied(this.#http.origin, apiPath, mount);
    return response;
  }

  // A 403 while the token still works is the policy's decision and is returned. Otherwise
  // the token has expired or was revoked: log in again once and retry, and if the new
  // token does not work either, report the credentials.
  async #send(path: string, query?: Record<string, string>): Promise<VaultResponse> {
    const send = (token: string) => this.#http.send({ method: 'GET', path, token, query });
    const first = await send(await this.#auth.token());
    if (first.status !== 403 || (await this.#tokenWorks())) return first;

    const second = await send(await this.#auth.reauthenticate());
    if (second.status !== 403 || (await this.#tokenWorks())) return second;
    throw authFailed(this.#http.origin, `403 on /v1/${path} after logging in again`);
  }

  // NOTE: a token whose policies lack `default` cannot look itself up, so a policy denial
  // for it is reported as an authentication failure.
  async #tokenWorks(): Promise<boolean> {
    const token = await this.#auth.token();
    const self = await this.#http.send({ method: 'GET', path: 'auth/token/lookup-self', token });
    return self.status === 200;
  }

  async #mountFor(vaultPath: string): Promise<KvMount> {
    let mount = this.#mounts && findKvMount(this.#mounts, vaultPath);
    if (!mount && !this.#options.kv) {
      // Mounts may have been added since the table was read.
      this.#mounts = await this.#readMountTable();
      mount = findKvMount(this.#mounts, vaultPath);
    }
    if (mount) return mount;
    throw new TesseraError(
      'NOT_FOUND',
      `no KV mount of Vault at ${this.#http.origin} contains '${vaultPath}'; check the mount's path= setting`,
      { vault: this.#http.origin },
    );
  }

  async #readMountTable(): Promise<KvMount[]> {
    let status = 0;
    for (const path of ['sys/internal/ui/mounts', 'sys/mounts']) {
      const response = await this.#send(path);
      const mounts = response.status === 200 ? kvMountsOf(response.body) : undefined;
      if (mounts) return mounts;
      status = response.status;
    }
    throw new TesseraError(
      'CONFIG_INVALID',
      `cannot read the mount table of Vault at ${this.#http.origin} (status ${status}); allow the token to read sys/internal/ui/mounts, or give the mount as mount=PATH,kv_version=1|2`,
      { vault: this.#http.origin },
    );
  }
}

function readV2(response: VaultResponse, path: string, apiPath: string): BackendRead {
  const metadata = response.body?.data?.metadata;
  const data = response.body?.data?.data;
  // Vault responds to a deleted or destroyed version with data.data null and its metadata:
  // with 404 on current servers, with 200 on some older ones.
  if ((response.status === 200 || response.status === 404) && metadata && data === null) {
    throw deletedError(path, apiPath, metadata);
  }
  if (response.status === 404) throw vaultNotFound(path, apiPath);
  if (response.status !== 200) throw unexpected(response, apiPath);
  const version = Number.isInteger(metadata?.version) ? (metadata?.version as number) : undefined;
  return { fields: fieldsOf(data, apiPath), ...(version === undefined ? {} : { version }) };
}

function readV1(response: VaultResponse, path: string, apiPath: string): BackendRead {
  if (response.status === 404) throw vaultNotFound(path, apiPath);
  if (response.status !== 200) throw unexpected(response, apiPath);
  // On KV v1, `data` contains the secret's own fields, even ones named data or metadata.
  return { fields: fieldsOf(response.body?.data, apiPath) };
}

function deletedError(path: string, apiPath: string, metadata: Record<string, unknown>) {
  const info: VersionInfo = {
    version: Number(metadata.version) || 0,
    createdTime: String(metadata.created_time ?? ''),
    deletionTime: metadata.deletion_time ? String(metadata.deletion_time) : null,
    destroyed: metadata.destroyed === true,
    author: 'vault',
  };
  const details = { path, version: info.version, info };
  if (info.destroyed) {
    return new TesseraError(
      'VERSION_DESTROYED',
      `secret '${path}' version ${info.version} is destroyed in Vault (/v1/${apiPath}); write a new version there`,
      details,
    );
  }
  return new TesseraError(
    'VERSION_DELETED',
    `secret '${path}' version ${info.version} is deleted in Vault (/v1/${apiPath}); undelete it there or write a new version`,
    details,
  );
}

function vaultNotFound(path: string, apiPath: string): TesseraError {
  return new TesseraError(
    'NOT_FOUND',
    `secret '${path}' not found in Vault (/v1/${apiPath}); check the path and the mount's path= setting`,
    { path },
  );
}

function policyDenied(origin: string, apiPath: string, mount: KvMount): TesseraError {
  const hint =
    mount.version === 2
      ? `; on KV v2 the ACL path needs the data/ segment, as in path "${apiPath}" { capabilities = ["read"] }`
      : '';
  return new TesseraError(
    'PERMISSION_DENIED',
    `Vault at ${origin} denied reading /v1/${apiPath} (mount '${mount.path}', KV version ${mount.version}); grant its token read on that path${hint}`,
    { vault: origin },
  );
}

function unexpected(response: VaultResponse, apiPath: string): TesseraError {
  return new TesseraError(
    'INVALID_ARGUMENT',
    `Vault answered ${response.status} to reading /v1/${apiPath}; check the path and the mount settings`,
  );
}

function folder(path: string): string {
  const trimmed = path.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

function copy(read: BackendRead): BackendRead {
  const fields = Object.fromEntries(
    Object.entries(read.fields).map(([name, bytes]) => [name, Buffer.from(bytes)]),
  );
  return { ...read, fields };
}
