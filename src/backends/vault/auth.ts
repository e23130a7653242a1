import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { TesseraError } from '../../errors.ts';
import type { VaultHttp, VaultResponse } from './http.ts';

/** How the Vault backend logs in. */
export type VaultAuthConfig =
  | { method: 'token'; tokenFile: string }
  | { method: 'approle'; roleIdFile: string; secretIdFile: string; mount: string };

/** A lease as Vault returns it in `auth`, or in `data` of lookup-self. */
interface Lease {
  ttlSeconds: number;
  renewable: boolean;
}

// Renew when half the lease is left, as Vault's own agent does, but not more often than
// this, so that a short TTL does not turn into a busy loop.
const MIN_RENEW_DELAY_MS = 1_000;

// Once max_ttl caps a lease, Vault repeats its warning at every renewal, and a short lease
// renews every second. So the warnings of one API path are logged at most once per this
// interval, and the next line logged counts those left out.
const WARNING_LOG_INTERVAL_MS = 10 * 60_000;

/**
 * Holds a Vault token and keeps it alive: a token read from a file (read again on
 * re-authentication, so a rotated file is picked up), or one from an AppRole login.
 * Renewable leases are renewed with renew-self when half of them is left, and Vault's
 * warnings (such as a TTL capped by max_ttl) go to the log. The token is never logged,
 * printed or put in a message.
 */
export class VaultAuth {
  readonly #http: VaultHttp;
  readonly #config: VaultAuthConfig;
  readonly #logger: Logger | undefined;
  #token: string | undefined;
  #login: Promise<string> | undefined;
  #renewal: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #warned = new Map<string, { loggedAt: number; skipped: number }>();

  constructor(http: VaultHttp, config: VaultAuthConfig, logger?: Logger) {
    this.#http = http;
    this.#config = config;
    this.#logger = logger;
  }

  /** Returns the current token, logging in first when there is none. */
  async token(): Promise<string> {
    if (this.#token !== undefined) return this.#token;
    return this.reauthenticate();
  }

  /** Logs in again (AppRole) or reads the token file again; concurrent callers share one login. */
  reauthenticate(): Promise<string> {
    this.#token = undefined;
    this.#login ??= this.#authenticate().finally(() => {
      this.#login = undefined;
    });
    return this.#login;
  }

  /** Stops the renewal timer. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#renewal);
  }

  toJSON() {
    return { method: this.#config.method };
  }

  async #authenticate(): Promise<string> {
    const { token, lease } =
      this.#config.method === 'token'
        ? await this.#fromFile(this.#config.tokenFile)
        : await this.#approle(this.#config);
    this.#token = token;
    if (lease) this.#scheduleRenewal(lease);
    this.#logger?.info({ vault: this.#http.origin, method: this.#config.method }, 'vault login');
    return token;
  }

  async #fromFile(file: string): Promise<{ token: string; lease: Lease | undefined }> {
    const token = (await readSecretFile(file, 'token file')).trim();
    const response = await this.#http.send({
      method: 'GET',
      path: 'auth/token/lookup-self',
      token,
    });
    // A token that cannot look itself up may still read secrets (a policy without
    // `default`), so it is kept, only without renewal.
    if (response.status !== 200) return { token, lease: undefined };
    const data = response.body?.data ?? {};
    return {
      token,
      lease: { ttlSeconds: Number(data.ttl) || 0, renewable: data.renewable === true },
    };
  }

  async #approle(config: { roleIdFile: string; secretIdFile: string; mount: string }) {
    const role_id = (await readSecretFile(config.roleIdFile, 'AppRole role_id file')).trim();
    const secret_id = (await readSecretFile(config.secretIdFile, 'AppRole secret_id file')).trim();
    const path = `auth/${config.mount}/login`;
    const response = await this.#http.send({ method: 'POST', path, body: { role_id, secret_id } });
    const auth = response.body?.auth;
    if (response.status !== 200 || typeof auth?.client_token !== 'string') {
      throw authFailed(
        this.#http.origin,
        `AppRole login at /v1/${path} answered ${response.status}`,
      );
    }
    this.#logWarnings(response, path);
    return { token: auth.client_token as string, lease: leaseOf(auth) };
  }

  #scheduleRenewal(lease: Lease) {
    clearTimeout(this.#renewal);
    if (!lease.renewable || lease.ttlSeconds <= 0 || this.#closed) return;
    const delay = Math.max(MIN_RENEW_DELAY_MS, (lease.ttlSeconds * 1000) / 2);
    this.#renewal = setTimeout(() => void this.#renew(), delay);
    this.#renewal.unref();
  }

  async #renew() {
    const token = this.#token;
    if (token === undefined || this.#closed) return;
    const path = 'auth/token/renew-self';
    try {
      const response = await this.#http.send({ method: 'PUT', path, token, body: {} });
      if (response.status !== 200) {
        this.#logger?.warn(
          { vault: this.#http.origin, status: response.status },
          'vault renew failed',
        );
        return;
      }
      this.#logWarnings(response, path);
      this.#scheduleRenewal(leaseOf(response.body?.auth));
    } catch (error) {
      this.#logger?.warn(
        { vault: this.#http.origin, reason: (error as Error).message },
        'vault renew failed',
      );
    }
  }

  // Vault's warnings are about the lease (a TTL capped by max_ttl), never the token.
  #logWarnings(response: VaultResponse, path: string) {
    const warnings = response.body?.warnings;
    if (!Array.isArray(warnings)) return;
    for (const warning of warnings) {
      if (typeof warning !== 'string') continue;
      const now = Date.now();
      const last = this.#warned.get(path);
      if (last && now - last.loggedAt < WARNING_LOG_INTERVAL_MS) {
        last.skipped += 1;
        continue;
      }
      const skipped = last?.skipped ?? 0;
      this.#logger?.warn({ vault: this.#http.origin, path, warning, skipped }, 'vault warning');
      this.#warned.set(path, { loggedAt: now, skipped: 0 });
    }
  }
}

/**
 * Reads the files that the backend logs in with, so that a missing, unreadable or empty
 * one stops the server's start rather than fail the first read. Throws CONFIG_INVALID
 * naming the file, never its content.
 */
export async function checkCredentialFiles(config: VaultAuthConfig): Promise<void> {
  const files: [string, string][] =
    config.method === 'token'
      ? [['token file', config.tokenFile]]
      : [
          ['AppRole role_id file', config.roleIdFile],
          ['AppRole secret_id file', config.secretIdFile],
        ];
  for (const [kind, file] of files) {
    const text = await readSecretFile(file, kind).catch((error: TesseraError) => {
      throw new TesseraError('CONFIG_INVALID', error.message, error.details);
    });
    if (text.trim() === '') {
      throw new TesseraError(
        'CONFIG_INVALID',
        `the Vault ${kind} ${file} is empty; write the credential into it`,
        { file },
      );
    }
  }
}

/** Builds the error for Vault rejecting Tessera's own credentials. */
export function authFailed(origin: string, what: string): TesseraError {
  return new TesseraError(
    'BACKEND_AUTH_FAILED',
    `Vault at ${origin} rejected Tessera's credentials (${what}); the token expired or was revoked, or the AppRole is wrong: give the backend a valid token file or AppRole`,
    { vault: origin },
  );
}

function leaseOf(auth: unknown): Lease {
  const lease = (auth ?? {}) as { lease_duration?: unknown; renewable?: unknown };
  return { ttlSeconds: Number(lease.lease_duration) || 0, renewable: lease.renewable === true };
}

async function readSecretFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'BACKEND_AUTH_FAILED',
      `cannot read the Vault ${what} ${file} (${code}); check the path and its permissions`,
      { file },
    );
  }
}
