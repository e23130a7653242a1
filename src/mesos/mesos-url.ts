import { TesseraError } from '../errors.ts';

/**
 * Returns the URL of `endpoint` (such as `state` or `api/v1`) under `base`, keeping the
 * base's path, so that a master served under a prefix (DC/OS serves it at `/mesos/`) is
 * reached there. The base's query and fragment are dropped.
 */
export function endpointUrl(base: URL, endpoint: string): URL {
  const directory = base.pathname.endsWith('/') ? base : new URL(`${base.pathname}/`, base);
  return new URL(endpoint, directory);
}

/**
 * Returns the base URL that `url` names `endpoint` under: `https://leader/mesos/` for
 * `https://leader/mesos/state` and `state`. A URL that does not end in the endpoint, such
 * as Mesos's `//leader:5050/master/redirect`, gives the root of its origin.
 */
export function baseOf(url: URL, endpoint: string): URL {
  const suffix = `/${endpoint}`;
  const path = url.pathname.endsWith(suffix) ? url.pathname.slice(0, -endpoint.length) : '/';
  return new URL(path, url);
}

/** Formats a base URL for a report: origin and path, without a trailing `/`. */
export function displayBase(base: URL): string {
  return `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
}

/**
 * Parses the base URL of a Mesos master given to `option` (a flag or an SDK option's name),
 * as text or as a URL. Throws INVALID_ARGUMENT without echoing the value, because a
 * mistyped URL may still hold a password. `credentialsFix` is the advice on where
 * credentials go instead.
 */
export function parseMasterUrl(value: unknown, option: string, credentialsFix: string): URL {
  const text = value instanceof URL ? value.href : value;
  const url = typeof text === 'string' && URL.canParse(text) ? new URL(text) : undefined;
  if ((typeof text === 'string' && hasInvalidPort(text)) || url?.port === '0') {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${option} has an invalid port; give a port from 1 to 65535, as in http://master.example:5050`,
    );
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${option} must be an http or https URL, such as http://master.example:5050`,
    );
  }
  // fetch() rejects URLs with credentials, and a command line shows them to every user.
  if (url.username !== '' || url.password !== '') {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `${option} must not hold a user or password; ${credentialsFix}`,
    );
  }
  return url;
}

// The URL parser rejects the whole URL when its port is above 65535 or has a character
// other than a digit, so such a URL is found by parsing it again without the port. The
// groups are the scheme, user and host, then the port, then the path, query and fragment.
const PORT_OF_HTTP_URL =
  /^(https?:\/\/(?:[^/?#@]*@)?(?:\[[^\]/?#]*\]|[^/?#:@[\]]*)):([^/?#]*)(.*)$/is;

function hasInvalidPort(text: string): boolean {
  const match = PORT_OF_HTTP_URL.exec(text.trim());
  if (match === null || URL.canParse(text)) return false;
  return URL.canParse(`${match[1]}${match[3]}`);
}

/**
 * Resolves a redirect's Location header against the request URL. Returns the target, or
 * why it is not followed: it is missing or invalid, it is not http or https, it contains
 * a user or password, which fetch() rejects and a message must not show, or it leaves
 * https for http.
 */
export function redirectTarget(
  header: string | null,
  url: URL,
): { target: URL } | { problem: string } {
  if (header === null || !URL.canParse(header, url.href)) {
    return { problem: 'without a valid Location' };
  }
  const target = new URL(header, url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return { problem: 'to a Location that is not an http or https URL' };
  }
  if (target.username !== '' || target.password !== '') {
    return { problem: 'to a URL with a user or password, which is not followed' };
  }
  // The request carries the principal's password, which must not leave TLS.
  if (url.protocol === 'https:' && target.protocol === 'http:') {
    return { problem: 'from https to http, which would send credentials unencrypted' };
  }
  return { target };
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
