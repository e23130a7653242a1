import { readText } from './http-body.ts';
import { DEFAULT_MAX_BODY_BYTES, formatSize } from './read-options.ts';

/** Failure of a read from a Mesos master or agent: a category and a one-line message. */
export interface MesosFailure {
  kind:
    | 'unreachable'
    | 'timeout'
    | 'unauthorized'
    | 'forbidden'
    | 'redirect'
    | 'unavailable'
    | 'status'
    | 'too-large'
    | 'invalid';
  message: string;
  /** For `redirect`: the absolute URL of the Location header. */
  location?: string;
}

/** The body of a successful read, or why it failed. */
export type MesosRead<T> = { ok: true; body: T } | { ok: false; failure: MesosFailure };

/** Options of `readMesosJson`. */
export interface MesosReadOptions {
  /** Time allowed for the whole request, body included, in milliseconds. */
  timeoutMs: number;
  /** Maximum size of the response body, in bytes; DEFAULT_MAX_BODY_BYTES when unset. */
  maxBodyBytes?: number;
  /** The value of the Authorization header, for masters and agents with HTTP authentication. */
  authorization?: string;
}

/**
 * Sends `GET url` and parses the JSON body. Never throws for a network or HTTP failure:
 * each becomes a `MesosFailure` whose message names `what` and the URL's origin (never
 * its credentials) and the fix. Redirects are not followed, so that a caller can
 * tell a non-leading master (307 to the leader) from the leader. A body larger than
 * `maxBodyBytes` is not read to its end.
 */
export async function readMesosJson<T>(
  url: URL,
  what: string,
  options: MesosReadOptions,
): Promise<MesosRead<T>> {
  const where = `${what} at ${url.host}${url.pathname}`;
  let response: Response;
  try {
    response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: {
        accept: 'application/json',
        ...(options.authorization ? { authorization: options.authorization } : {}),
      },
    });
  } catch (error) {
    return { ok: false, failure: networkFailure(error, where, options.timeoutMs) };
  }

  if (response.status !== 200) {
    await response.body?.cancel();
    return { ok: false, failure: statusFailure(response, url, where) };
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let text: string | undefined;
  try {
    text = await readText(response, maxBodyBytes);
  } catch (error) {
    return { ok: false, failure: bodyFailure(error, where, options.timeoutMs) };
  }
  if (text === undefined) {
    return { ok: false, failure: tooLargeFailure(where, maxBodyBytes) };
  }
  try {
    return { ok: true, body: JSON.parse(text) as T };
  } catch {
    return {
      ok: false,
      failure: {
        kind: 'invalid',
        message: `${where} returned a body that is not JSON; check that the URL names a Mesos master or agent`,
      },
    };
  }
}

/** Describes a failed request: a timeout, or a network error by its code. */
export function networkFailure(error: unknown, where: string, timeoutMs: number): MesosFailure {
  if (isTimeout(error)) {
    return {
      kind: 'timeout',
      message: `${where} did not respond within ${timeoutMs} ms; check that it is up, or raise --timeout-ms`,
    };
  }
  return {
    kind: 'unreachable',
    message: `${where} is unreachable (${errorCode(error)}); check that it runs and that this host can reach it`,
  };
}

// Describes a failure while the body arrives, after a 200 status line and headers.
function bodyFailure(error: unknown, where: string, timeoutMs: number): MesosFailure {
  if (isTimeout(error)) {
    return {
      kind: 'timeout',
      message:
        `${where} did not send its whole response within ${timeoutMs} ms; raise --timeout-ms ` +
        'for a large cluster, or check that the URL names a Mesos master or agent',
    };
  }
  return {
    kind: 'unreachable',
    message: `${where} closed the connection before the end of its response (${errorCode(error)}); retry, and check the process's log`,
  };
}

function tooLargeFailure(where: string, maxBodyBytes: number): MesosFailure {
  return {
    kind: 'too-large',
    message:
      `${where} sent a response larger than ${formatSize(maxBodyBytes)}; raise ` +
      '--max-body-mib for a large cluster, or check that the URL names a Mesos master or agent',
  };
}

function isTimeout(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return cause?.code ?? 'network error';
}

/** Describes an answer other than 200, with the fix for each status Mesos sends. */
export function statusFailure(response: Response, url: URL, where: string): MesosFailure {
  switch (response.status) {
    case 401:
      return {
        kind: 'unauthorized',
        message:
          `${where} requires authentication (401 Unauthorized); set TESSERA_MESOS_PRINCIPAL ` +
          'and TESSERA_MESOS_SECRET_FILE to a principal the cluster accepts',
      };
    case 403:
      return {
        kind: 'forbidden',
        message:
          `${where} refused the request (403 Forbidden); grant the principal access in the ` +
          'ACLs (reading /flags needs the VIEW_FLAGS permission)',
      };
    case 307: {
      const header = response.headers.get('location');
      const location = header ? new URL(header, url).href : undefined;
      return {
        kind: 'redirect',
        message: `${where} is not the leading master (307 Temporary Redirect${location ? ` to ${new URL(location).host}` : ''}); point --master at the leader`,
        ...(location ? { location } : {}),
      };
    }
    case 503:
      return {
        kind: 'unavailable',
        message: `${where} is not ready (503 Service Unavailable), for example while no master is elected or the agent recovers; retry later`,
      };
    default:
      return {
        kind: 'status',
        message: `${where} returned HTTP ${response.status}; check the URL and the process's log`,
      };
  }
}

/**
 * Turns an agent's libprocess `pid` (`slave(1)@10.0.0.5:5051`) into the URL of its HTTP
 * endpoints, with the master's scheme. Returns undefined when the pid has no address.
 */
export function agentUrl(pid: string, scheme: string): URL | undefined {
  const match = /@([^@/\s]+:\d+)$/.exec(pid);
  if (match?.[1] === undefined) {
    return undefined;
  }
  return new URL(`${scheme}//${match[1]}/`);
}
