import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, fetch } from 'undici';

import { type Backoff, backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';
import type { ClientOptions } from './client.ts';

/** With no byte for this long (heartbeats come every 15 s), the stream is taken as dead. */
export const WATCH_IDLE_TIMEOUT_MS = 40_000;

/** One event of the watch stream: a change of a watched secret, or the stream's start. */
export type WatchEvent =
  | { kind: 'change'; path: string; version: number; change: string }
  | { kind: 'ready'; reconnected: boolean }
  | { kind: 'reset' };

/** Options of `ChangeWatch`. */
export interface WatchOptions extends Omit<ClientOptions, 'timeoutMs'> {
  paths: readonly string[];
  onEvent: (event: WatchEvent) => void;
  /** Receives one line per connection lost or failed; never a token or a value. */
  log: (line: string) => void;
  backoff?: Backoff;
  idleTimeoutMs?: number;
}

// The server answers 401 without a token and 403 for a token that is invalid, expired or
// no longer allowed to read a path. Retrying those would only add failed authentications,
// which the server counts per client address and then blocks every client of it for.
const REJECTED_STATUSES: ReadonlySet<number> = new Set([401, 403]);

/** The server refused the stream for its token; reconnecting cannot help. */
class StreamRejected extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string) {
    super(`HTTP ${status}${code === '' ? '' : ` (${code})`}`);
    this.status = status;
    this.code = code;
  }
}

interface RawEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * Follows `GET /v1/tessera/watch` for a set of paths. When the stream ends or fails it
 * reconnects with backoff and jitter, sending the last event id so that the server can
 * replay what was missed (or answer `reset`), until `stop` is called. It stops for good,
 * with one log line, when the server rejects the token (HTTP 401 or 403).
 */
export class ChangeWatch {
  readonly #options: WatchOptions;
  readonly #dispatcher: Agent | undefined;
  #abort: AbortController | undefined;
  #stopped = false;
  readonly #stopping = new AbortController();
  #lastEventId: string | undefined;
  #connections = 0;
  #loop: Promise<void> | undefined;

  constructor(options: WatchOptions) {
    this.#options = options;
    if (options.tls) this.#dispatcher = new Agent({ connect: { ...options.tls } });
  }

  /** Starts following in the background. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Closes the stream and stops reconnecting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort();
    this.#abort?.abort();
    await this.#loop;
    await this.#dispatcher?.close();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      let rejected = false;
      const received = await this.#connectOnce().catch((error: unknown) => {
        if (this.#stopped) return false;
        if (error instanceof StreamRejected) {
          rejected = true;
          this.#options.log(rejectedMessage(error));
          return false;
        }
        this.#options.log(`change stream failed: ${describe(error)}`);
        return false;
      });
      if (this.#stopped || rejected) return;

      failures = received ? 0 : failures + 1;
      const delay = backoffDelay(failures, this.#options.backoff ?? DEFAULT_BACKOFF);
      this.#options.log(`change stream closed; reconnecting in ${delay} ms`);
      // Unreferenced, so that a pending reconnect never keeps the process alive.
      const signal = this.#stopping.signal;
      await sleep(delay, undefined, { ref: false, signal }).catch(() => undefined);
    }
  }

  // Returns whether any event arrived, so that a stream that opens and fails at once
  // still backs off further.
  async #connectOnce(): Promise<boolean> {
    const abort = new AbortController();
    this.#abort = abort;
    const response = await fetch(this.#url(), {
      headers: this.#headers(),
      signal: abort.signal,
      dispatcher: this.#dispatcher,
    });
    if (response.status !== 200 || response.body === null) {
      const text = await response.text().catch(() => '');
      if (REJECTED_STATUSES.has(response.status)) {
        throw new StreamRejected(response.status, serverCode(text));
      }
      const code = serverCode(text);
      throw new Error(`HTTP ${response.status}${code === '' ? '' : ` (${code})`}`);
    }

    this.#connections++;
    let received = false;
    let idle = this.#armIdle(abort);
    try {
      for await (const event of parseEvents(response.body, () => {
        clearTimeout(idle);
        idle = this.#armIdle(abort);
      })) {
        received = true;
        this.#dispatch(event);
      }
    } finally {
      clearTimeout(idle);
    }
    return received;
  }

  #armIdle(abort: AbortController): NodeJS.Timeout {
    const timer = setTimeout(
      () => abort.abort(),
      this.#options.idleTimeoutMs ?? WATCH_IDLE_TIMEOUT_MS,
    );
    timer.unref();
    return timer;
  }

  #dispatch(raw: RawEvent): void {
    if (raw.id !== undefined) this.#lastEventId = raw.id;
    if (raw.event === 'ready') {
      this.#options.onEvent({ kind: 'ready', reconnected: this.#connections > 1 });
    } else if (raw.event === 'reset') {
      this.#options.onEvent({ kind: 'reset' });
    } else if (raw.event === 'change') {
      const data = JSON.parse(raw.data) as { path: string; version: number; kind: string };
      this.#options.onEvent({
        kind: 'change',
        path: data.path,
        version: data.version,
        change: data.kind,
      });
    }
  }

  #url(): string {
    const query = this.#options.paths.map((path) => `path=${encodeURIComponent(path)}`).join('&');
    return `${this.#options.address.replace(/\/+$/, '')}/v1/tessera/watch?${query}`;
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.#options.token) headers['x-vault-token'] = this.#options.token;
    if (this.#lastEventId !== undefined) headers['last-event-id'] = this.#lastEventId;
    return headers;
  }
}

/** Parses a server-sent event stream into events; `onBytes` runs on every chunk. */
export async function* parseEvents(
  body: AsyncIterable<Uint8Array>,
  onBytes: () => void = () => undefined,
): AsyncGenerator<RawEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let current: RawEvent = { event: 'message', data: '' };
  for await (const chunk of body) {
    onBytes();
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
      if (line === '') {
        yield current;
        current = { event: 'message', data: '' };
        continue;
      }
      applyField(current, line);
    }
  }
}

function applyField(event: RawEvent, line: string): void {
  if (line.startsWith(':')) return;
  const colon = line.indexOf(':');
  const name = colon < 0 ? line : line.slice(0, colon);
  const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
  if (name === 'id') event.id = value;
  if (name === 'event') event.event = value;
  if (name === 'data') event.data = event.data === '' ? value : `${event.data}\n${value}`;
}

function serverCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code : '';
  } catch {
    return '';
  }
}

function rejectedMessage(error: StreamRejected): string {
  return (
    `change stream rejected with ${error.message}: the token is missing, invalid or ` +
    'expired, or may no longer read a followed path; not reconnecting. The command keeps ' +
    'its values and the periodic check goes on; give the task a valid token and restart ' +
    'it to follow changes again'
  );
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  if (cause) return cause;
  return error instanceof Error ? error.message : 'unknown error';
}
