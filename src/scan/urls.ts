import type { Detection } from './finding.ts';
import { classifyName, isHarmlessValue, isReference } from './names.ts';
import { looksLikeToken } from './token-forms.ts';

// A URL runs from its scheme to the next space or quote. The authority may list several
// hosts separated by commas, as ZooKeeper URLs do (`zk://h1:2181,h2:2181/mesos`). The
// scheme is limited to 32 characters: unbounded, the search tries every start in a long
// run of letters and dots, which costs the square of its length.
const URL_PATTERN = /\b[a-zA-Z][a-zA-Z0-9+.-]{0,31}:\/\/[^\s"'<>]+/g;

/** A URL found in a string, and what in it is secret. */
export interface UrlInspection {
  /**
   * The URL as it may be shown: its scheme, `***@` for user information, its hosts, and
   * `…` for the rest, since a path, query or fragment may hold a secret too (a signature,
   * a webhook's token). ZooKeeper and file URLs keep their path, a znode or a file name.
   */
  redacted: string;
  /** True when the user information contains a literal password (`user:password@`). */
  hasPassword: boolean;
  /** True when the user name looks like a token (`https://TOKEN@host`), see `looksLikeToken`. */
  hasTokenUser: boolean;
  /** Names of query parameters that look secret and have a literal value. */
  secretParameters: string[];
}

/** Finds every URL in `text` and inspects it. */
export function inspectUrls(text: string): UrlInspection[] {
  return [...text.matchAll(URL_PATTERN)].map((match) => inspectUrl(match[0]));
}

/**
 * Tells whether `text` contains a URL with a password, a token as its user name or a
 * secret query parameter.
 */
export function hasCredentialUrl(text: string): boolean {
  return inspectUrls(text).some(hasCredentials);
}

/** Returns the URLs in `text`, as written, that carry credentials. */
export function credentialUrlTexts(text: string): string[] {
  return [...text.matchAll(URL_PATTERN)]
    .map((match) => match[0])
    .filter((url) => hasCredentials(inspectUrl(url)));
}

/**
 * Returns `text` with each URL redacted as `UrlInspection.redacted` describes:
 * `zk://***@192.0.2.10:2181,192.0.2.11:2181/mesos`, `https://***@host.example/…`.
 */
export function redactUrls(text: string): string {
  return text.replace(URL_PATTERN, (url) => inspectUrl(url).redacted);
}

/**
 * Reports each URL in `text` that carries a password in its user information, a user
 * name that looks like a token, or a secret-looking query parameter with a literal value.
 * The message shows the URL redacted.
 */
export function urlDetections(text: string, location: string): Detection[] {
  return inspectUrls(text)
    .filter(hasCredentials)
    .map((url) => ({
      location,
      severity: 'high',
      kind: 'url-credentials',
      message: `${url.redacted} ${describe(url)}; ${advice(url)}`,
      redacted: url.redacted,
    }));
}

function hasCredentials(url: UrlInspection): boolean {
  return url.hasPassword || url.hasTokenUser || url.secretParameters.length > 0;
}

function describe(url: UrlInspection): string {
  const parts: string[] = [];
  if (url.hasPassword) parts.push('a password in its user information');
  else if (url.hasTokenUser) parts.push('a token as its user name');
  for (const name of url.secretParameters) parts.push(`a secret in query parameter ${name}`);
  return `contains ${parts.join(' and ')}`;
}

function advice(url: UrlInspection): string {
  const secret = url.hasTokenUser && !url.hasPassword ? 'token' : 'password';
  const store = `store the ${secret} in Tessera and have the task build the URL from a secret variable`;
  if (!url.redacted.startsWith('zk://')) return store;
  // Mesos reads any flag's value from a file given as file:///PATH.
  return (
    "give Mesos the URL as --zk=file:///PATH, which keeps it out of the process list, and let only operators read /flags (VIEW_FLAGS in the ACLs); in a task's definition, " +
    store
  );
}

function inspectUrl(url: string): UrlInspection {
  const authorityStart = url.indexOf('://') + 3;
  const userinfo = userinfoOf(url, authorityStart);
  const hostStart = userinfo === undefined ? authorityStart : authorityStart + userinfo.length + 1;
  const hostEnd = firstIndexOf(url, '/?#', hostStart);
  const colon = userinfo?.indexOf(':') ?? -1;
  const user = colon === -1 ? userinfo : userinfo?.slice(0, colon);
  const password = colon === -1 ? '' : (userinfo as string).slice(colon + 1);
  const keepsPath = /^(zk|file):/i.test(url);
  const pathEnd = keepsPath ? firstIndexOf(url, '?#', hostEnd) : hostEnd;
  const hidden = pathEnd < url.length ? '…' : '';
  const shown = url.slice(hostStart, pathEnd);
  return {
    redacted: `${url.slice(0, authorityStart)}${userinfo === undefined ? '' : '***@'}${shown}${hidden}`,
    hasPassword: password !== '' && !isReference(password) && !/^\*+$/.test(password),
    hasTokenUser: user !== undefined && looksLikeToken(user),
    secretParameters: secretParametersOf(url.slice(hostEnd)),
  };
}

// The user information ends at the last '@' before the path, query or fragment. A
// password may hold a '/' (which URLs should encode, and often do not), so an '@' after
// a '/' still counts when a ':' before that '/' is not followed by a port number.
function userinfoOf(url: string, start: number): string | undefined {
  const authorityEnd = firstIndexOf(url, '/?#', start);
  const plain = url.lastIndexOf('@', authorityEnd - 1);
  if (plain >= start) return url.slice(start, plain);
  const at = url.lastIndexOf('@', firstIndexOf(url, '?#', start) - 1);
  if (at < start) return undefined;
  const candidate = url.slice(start, at);
  const beforeSlash = candidate.slice(0, candidate.indexOf('/'));
  const colon = beforeSlash.indexOf(':');
  if (colon === -1 || /^\d*$/.test(beforeSlash.slice(colon + 1))) return undefined;
  return candidate;
}

// Names the query parameters whose names look secret and whose values are literal.
function secretParametersOf(rest: string): string[] {
  const secretParameters: string[] = [];
  for (const [, name, value] of rest.matchAll(/[?&;]([^=&;#]+)=([^&;#]*)/g)) {
    if (classifyName(name as string) === 'secret' && !isHarmlessValue(value as string)) {
      secretParameters.push(name as string);
    }
  }
  return secretParameters;
}

function firstIndexOf(text: string, characters: string, from: number): number {
  for (let index = from; index < text.length; index += 1) {
    if (characters.includes(text[index] as string)) return index;
  }
  return text.length;
}
