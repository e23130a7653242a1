import { setTimeout as sleep } from 'node:timers/promises';

import { networkFailure, statusFailure } from './mesos-http.ts';
import { baseOf, endpointUrl } from './mesos-url.ts';
import { type OperatorEvent, OperatorEventSchema } from './operator-events.ts';
import { readRecords } from './recordio.ts';

// A master that stops sending heartbeats for this many intervals is taken as lost, as
// `master.proto` advises for `HEARTBEAT` ("e.g., 5 x heartbeat_interval_seconds").
const MISSED_HEARTBEATS = 5;

// How many 307 redirects in a row are followed before the next master of the list is tried.
const MAX_REDIRECTS = 3;

// The flag of `tessera server` that names the masters, for the fix in messages.
const MASTER_FLAG = '--mesos-master';

/** Options of `followMaster`. */
export interface FollowMasterOptions {
  /** The masters to try in turn; a non-leading one redirects to the leader. */
  masters: readonly URL[];
  /** The value of the Authorization header, for masters with HTTP authentication. */
  authorization?: string;
  /** Time allowed for a master to respond to the SUBSCRIBE call, in milliseconds. */
  connectTimeoutMs: number;
  /** The wait before the next attempt after `failures` failed attempts in a row. */
  retryDelayMs: (failures: number) => number;
  /** Receives every event, the `SUBSCRIBED` snapshot first. */
  onEvent: (event: OperatorEvent) => void;
  /** Called once the master has sent its snapshot. */
  onSubscribed: (master: URL) => void;
  /** Called when a stream ends or an attempt fails, with why and the wait before the next. */
  onDisconnect: (reason: string, retryInMs: number) => void;
}

/** A running subscription to the leading master's event stream. */
export interface MasterFollower {
  /** Ends the stream and the retries. */
  stop(): Promise<void>;
}

/** The outcome of one attempt. */
type Attempt =
  | { kind: 'redirect'; location: URL; reason: string }
  | { kind: 'ended'; reason: string; subscribed: boolean };

/**
 * Subscribes to the operator API's event stream (`POST /api/v1` with `SUBSCRIBE`) of the
 * leading master, and subscribes again, after a wait, whenever the stream ends. A master
 * that responds with 307 names the leader, which is tried next. Each new stream starts with a
 * `SUBSCRIBED` snapshot of the whole cluster, so nothing missed while disconnected is lost.
 */
export function followMaster(options: FollowMasterOptions): MasterFollower {
  const controller = new AbortController();
  const running = follow(options, controller.signal);
  return {
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}

async function follow(options: FollowMasterOptions, signal: AbortSignal): Promise<void> {
  let failures = 0;
  let turn = 0;
  let redirects = 0;
  let leader: URL | undefined;
  while (!signal.aborted) {
    const master = leader ?? (options.masters[turn++ % options.masters.length] as URL);
    const attempt = await subscribeOnce(master, options, signal);
    if (signal.aborted) return;
    if (attempt.kind === 'redirect' && redirects < MAX_REDIRECTS) {
      redirects++;
      leader = attempt.location;
      continue;
    }
    const reason =
      attempt.kind === 'redirect'
        ? `${attempt.reason}, after ${redirects} redirects in a row`
        : attempt.reason;
    redirects = 0;
    leader = undefined;
    failures = attempt.kind === 'ended' && attempt.subscribed ? 0 : failures + 1;
    const wait = options.retryDelayMs(failures);
    options.onDisconnect(reason, wait);
    await sleep(wait, undefined, { signal }).catch(() => undefined);
  }
}

async function subscribeOnce(
  master: URL,
  options: FollowMasterOptions,
  signal: AbortSignal,
): Promise<Attempt> {
  const url = endpointUrl(master, 'api/v1');
  const where = `the event stream of the Mesos master at ${url.host}`;
  const attempt = new AbortController();
  const stop = () => attempt.abort();
  signal.addEventListener('abort', stop, { once: true });
  const connectTimer = setTimeout(stop, options.connectTimeoutMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: attempt.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(options.authorization ? { authorization: options.authorization } : {}),
      },
      body: JSON.stringify({ type: 'SUBSCRIBE' }),
    });
    clearTimeout(connectTimer);
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel();
      const failure = statusFailure(response, url, where, 'master', {
        masterFlag: MASTER_FLAG,
        sentCredentials: options.authorization !== undefined,
      });
      if (failure.kind === 'redirect' && failure.location !== undefined) {
        // A master redirects an API call to the same path on the leader
        // (`//leader:5050/api/v1`), so the leader's base URL is the location without it.
        const leader = baseOf(new URL(failure.location), 'api/v1');
        return { kind: 'redirect', location: leader, reason: failure.message };
      }
      return { kind: 'ended', reason: failure.message, subscribed: false };
    }
    return await readEvents(response.body, master, options, attempt);
  } catch (error) {
    const timedOut = !signal.aborted && attempt.signal.aborted;
    const reason = timedOut
      ? `${where} did not respond within ${options.connectTimeoutMs} ms`
      : networkFailure(error, where, options.connectTimeoutMs).message;
    return { kind: 'ended', reason, subscribed: false };
  } finally {
    clearTimeout(connectTimer);
    signal.removeEventListener('abort', stop);
  }
}

// Reads records until the stream ends, fails, or misses its heartbeats.
async function readEvents(
  body: ReadableStream<Uint8Array>,
  master: URL,
  options: FollowMasterOptions,
  attempt: AbortController,
): Promise<Attempt> {
  const where = `the event stream of the Mesos master at ${master.host}`;
  let subscribed = false;
  let silence: NodeJS.Timeout | undefined;
  let silentFor = 0;
  const watch = (intervalSeconds: number | undefined) => {
    if (intervalSeconds === undefined || intervalSeconds <= 0) return;
    clearTimeout(silence);
    silentFor = Math.ceil(intervalSeconds * MISSED_HEARTBEATS * 1000);
    silence = setTimeout(() => attempt.abort(), silentFor);
  };
  try {
    for await (const record of readRecords(body)) {
      const event = parseEvent(record);
      if (event === undefined) {
        return { kind: 'ended', reason: `${where} sent an event that is not valid`, subscribed };
      }
      if (!subscribed && event.type !== 'SUBSCRIBED') {
        return { kind: 'ended', reason: `${where} did not start with SUBSCRIBED`, subscribed };
      }
      if (event.type === 'SUBSCRIBED') watch(event.subscribed?.heartbeat_interval_seconds);
      else if (silentFor > 0) silence?.refresh();
      options.onEvent(event);
      if (!subscribed) {
        subscribed = true;
        options.onSubscribed(master);
      }
    }
    return { kind: 'ended', reason: `${where} ended`, subscribed };
  } catch (error) {
    const cause =
      (error as Error).name === 'RecordIoError' ? (error as Error).message : 'the connection broke';
    const reason = attempt.signal.aborted
      ? `${where} sent nothing for ${silentFor / 1000} s`
      : `${where} failed: ${cause}`;
    return { kind: 'ended', reason, subscribed };
  } finally {
    clearTimeout(silence);
  }
}

function parseEvent(record: Buffer): OperatorEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(record.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = OperatorEventSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
