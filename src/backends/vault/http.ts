import {
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import type { Logger } from 'pino';
import { TesseraError } from '../../errors.ts';

/**
 * The members of Vault's response bodies that Tessera reads. Vault's JSON is not
 * validated as a whole, so each member may be missing or of another type, and readers
 * check it before use.
 */
export interface VaultBody {
  data?: { data?: unknown; metadata?: Record<string, unknown>; [member: string]: unknown };
  auth?: { client_token?: unknown; [member: string]: unknown };
  warnings?: unknown;
  [member: string]: unknown;
}

/** A response from Vault: its status and its JSON body (undefined when empty or not JSON). */
export interface VaultResponse {
  status: number;
  body: VaultBody | undefined;
}

/** A request to Vault's HTTP API; `path` follows `/v1/`. */
export interface VaultRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  token?: string;
  body?: unknown;
  query?: Record<string, string>;
}

/** Timing of requests to Vault, in milliseconds. */
export interface VaultTiming {
  /** Total time for one logical request, retries included. */
  deadlineMs: number;
  /** Time for one attempt. */
  attemptTimeoutMs: number;
  /** The first retry delay; later ones grow exponentially with jitter. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Timing used unless a mount spec says otherwise. */
export const DEFAULT_VAULT_TIMING: VaultTiming = {
  deadlineMs: 10_000,
  attemptTimeoutMs: 5_000,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
};

// Statuses Vault documents as temporary: 429 (rate limit, or a standby's default
// health answer), 500, 502, 503 (sealed or maintenance) and 504.
const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_ATTEMPTS = 6;

class TransientError extends Error {}

/**
 * Sends requests to one Vault server. Network errors and transient statuses are retried
 * with exponential backoff and jitter until the deadline; other statuses return at once.
 * Messages name only the server's origin, never a token or credentials.
 */
export class VaultHttp {
  readonly origin: string;
  readonly #base: string;
  readonly #timing: VaultTiming;
  readonly #logger: Logger | undefined;

  constructor(address: string, timing: VaultTiming, logger?: Logger) {
    const url = new URL(address);
    this.origin = url.origin;
    this.#base = `${url.origin}${url.pathname.replace(/\/+$/, '')}/v1/`;
    this.#timing = timing;
    this.#logger = logger;
  }

  /** Sends `request`; throws UNREACHABLE when no non-transient answer came before the deadline. */
  async send(request: VaultRequest): Promise<VaultResponse> {
    const backoff = new ExponentialBackoff({
      initialDelay: this.#timing.initialDelayMs,
      maxDelay: this.#timing.maxDelayMs,
    });
    const retries = retry(
      handleWhen((error) => error instanceof TransientError),
      {
        maxAttempts: MAX_ATTEMPTS,
        backoff,
      },
    );
    retries.onRetry((event) => {
      const reason = 'error' in event ? (event.error as Error).message : `status ${event.value}`;
      this.#logger?.warn({ vault: this.origin, path: request.path, reason }, 'vault retry');
    });
    const policy = wrap(timeout(this.#timing.deadlineMs, TimeoutStrategy.Aggressive), retries);
    let last = 'no answer';
    try {
      return await policy.execute(async ({ signal }) => {
        try {
          return await this.#attempt(request, signal);
        } catch (error) {
          if (error instanceof TransientError) last = error.message;
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof TransientError || error instanceof TaskCancelledError) {
        throw this.#unreachable(request.path, last);
      }
      throw error;
    }
  }

  async #attempt(request: VaultRequest, signal: AbortSignal): Promise<VaultResponse> {
    const url = new URL(request.path, this.#base);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = {};
    if (request.token !== undefined) headers['x-vault-token'] = request.token;
    if (request.body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await fetch(url, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#timing.attemptTimeoutMs)]),
        redirect: 'error',
      });
    } catch (error) {
      throw new TransientError(networkReason(error));
    }
    const text = await response.text().catch(() => '');
    if (TRANSIENT_STATUSES.has(response.status)) {
      throw new TransientError(`status ${response.status}`);
    }
    return { status: response.status, body: parseBody(text) };
  }

  #unreachable(path: string, last: string): TesseraError {
    const seconds = this.#timing.deadlineMs / 1000;
    return new TesseraError(
      'UNREACHABLE',
      `Vault at ${this.origin} did not answer /v1/${path} within ${seconds} s (last: ${last}); check that Vault is up and unsealed`,
      { vault: this.origin },
    );
  }
}

// Vault's bodies are JSON objects; any other body is treated as no body.
function parseBody(text: string): VaultBody | undefined {
  if (text === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    return isObject ? (parsed as VaultBody) : undefined;
  } catch {
    return undefined;
  }
}

// Only the error's code is kept: a fetch error's message may quote the URL.
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as Error).name === 'TimeoutError') return 'attempt timed out';
  if ((error as Error).name === 'AbortError') return 'aborted';
  return 'network error';
}
