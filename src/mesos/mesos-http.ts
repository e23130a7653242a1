import { readText } from './http-body.ts';
import { redirectTarget } from './mesos-url.ts';
import { DEFAULT_MAX_BODY_BYTES, formatSize } from './read-options.ts';
import { printable } from './secret-rules.ts';

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

/** The Mesos process a request goes to: the master, or an agent by its id. */
export type MesosPeer = { role: 'master' } | { role: 'agent'; id: string };

/** The fix at the end of a non-leading master's redirect message. */
export const LEADER_FIX = 'point --master at the leader';

/** The facts about a request that the fix in its failure's message depends on. */
export interface FailureContext {
  /** The flag that names the master, for a redirect's fix; `--master` when unset. */
  masterFlag?: string;
  /** True when the request sent an Authorization header, so that a 401 means it was rejected. */
  sentCredentials?: boolean;
}

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
 * each becomes a `MesosFailure` whose message names the peer and the URL's origin (never
 * its credentials) and the fix. Redirects are not followed, so that a caller can
 * tell a non-leading master (307 to the leader) from the leader. A body larger than
 * `maxBodyBytes` is not read to its end.
 */
export async function readMesosJson(
  url: URL,
  peer: MesosPeer,
  options: MesosReadOptions,
): Promise<MesosRead<unknown>> {
  const where = describeRequest(url, peer);
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
    const context = { sentCredentials: options.authorization !== undefined };
    return { ok: false, failure: statusFailure(response, url, where, peer.role, context) };
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
    return { ok: true, body: JSON.parse(text) as unknown };
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

/** Names the peer and the endpoint of a request, as in `agent S1 at 10.0.0.5:5051/flags`. */
export function describeRequest(url: URL, peer: MesosPeer): string {
  const what = peer.role === 'master' ? 'master' : `agent ${printable(peer.id)}`;
  return `${what} at ${url.host}${url.pathname}`;
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

/**
 * Describes a response other than 200, with the fix for each status Mesos sends. `role`
 * decides the message for a redirect, which only a non-leading master sends.
 */
export function statusFailure(
  response: Response,
  url: URL,
  where: string,
  role: MesosPeer['role'],
  context: FailureContext = {},
): MesosFailure {
  switch (response.status) {
    case 401:
      return unauthorizedFailure(where, context.sentCredentials === true);
    case 403:
      return {
        kind: 'forbidden',
        message:
          `${where} refused the request (403 Forbidden); grant the principal access in the ` +
          'ACLs (reading /flags needs the VIEW_FLAGS permission)',
      };
    case 307:
      return redirectFailure(response, url, where, role, context.masterFlag);
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

// The variables name the principal and its password file for every command that reads
// a master, whatever its flags are called.
function unauthorizedFailure(where: string, sentCredentials: boolean): MesosFailure {
  if (sentCredentials) {
    return {
      kind: 'unauthorized',
      message:
        `${where} rejected the principal and password sent (401 Unauthorized); check that ` +
        'TESSERA_MESOS_PRINCIPAL names a principal the cluster accepts and that ' +
        'TESSERA_MESOS_SECRET_FILE holds its password',
    };
  }
  return {
    kind: 'unauthorized',
    message:
      `${where} requires authentication (401 Unauthorized); set TESSERA_MESOS_PRINCIPAL ` +
      'and TESSERA_MESOS_SECRET_FILE to a principal the cluster accepts',
  };
}

// A non-leading master redirects to the leader, and an agent does not redirect /flags.
function redirectFailure(
  response: Response,
  url: URL,
  where: string,
  role: MesosPeer['role'],
  masterFlag: string | undefined,
): MesosFailure {
  const status = '307 Temporary Redirect';
  if (role === 'agent') {
    return {
      kind: 'redirect',
      message:
        `${where} redirected the request (${status}), which a Mesos agent does not do; ` +
        "check that the address in the agent's pid in /state reaches the agent itself",
    };
  }
  const fix = masterFlag === undefined ? LEADER_FIX : `point ${masterFlag} at the leader`;
  const redirect = redirectTarget(response.headers.get('location'), url);
  if ('problem' in redirect) {
    return {
      kind: 'redirect',
      message: `${where} is not the leading master (${status} ${redirect.problem}); ${fix}`,
    };
  }
  return {
    kind: 'redirect',
    message: `${where} is not the leading master (${status} to ${redirect.target.host}); ${fix}`,
    location: redirect.target.href,
  };
}
