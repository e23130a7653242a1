import { type Detection, MASK } from './finding.ts';
import { classifyName, isHarmlessValue, isReference } from './names.ts';

// A URL runs from its scheme to the next space or quote. The authority may list several
// hosts separated by commas, as ZooKeeper URLs do (`zk://h1:2181,h2:2181/mesos`).
const URL_PATTERN = /\b[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s"'<>]+/g;

/** A URL found in a string, and what in it is secret. */
export interface UrlInspection {
  /** The URL with its user information replaced by `***` and secret query values masked. */
  redacted: string;
  /** True when the user information contains a literal password (`user:password@`). */
  hasPassword: boolean;
  /** Names of query parameters that look secret and have a literal value. */
  secretParameters: string[];
}

/** Finds every URL in `text` and inspects it. */
export function inspectUrls(text: string): UrlInspection[] {
  return [...text.matchAll(URL_PATTERN)].map((match) => inspectUrl(match[0]));
}

/** Tells whether `text` contains a URL with a password or a secret query parameter. */
export function hasCredentialUrl(text: string): boolean {
  return inspectUrls(text).some(hasCredentials);
}

/**
 * Returns `text` with the user information of each URL replaced by `***`, keeping the
 * scheme, every host and the path: `zk://***@192.0.2.10:2181,192.0.2.11:2181/mesos`.
 */
export function redactUrls(text: string): string {
  return text.replace(URL_PATTERN, (url) => inspectUrl(url).redacted);
}

/**
 * Reports each URL in `text` that carries a password in its user information, or a
 * secret-looking query parameter with a literal value. The message shows the URL redacted.
 */
export function urlDetections(text: string, location: string): Detection[] {
  return inspectUrls(text)
    .filter(hasCredentials)
    .map((url) => ({
      location,
      severity: 'high',
      kind: 'url-credentials',
      message: `${url.redacted} ${describe(url)}; ${advice(url.redacted)}`,
      redacted: url.redacted,
    }));
}

function hasCredentials(url: UrlInspection): boolean {
  return url.hasPassword || url.secretParameters.length > 0;
}

function describe(url: UrlInspection): string {
  const parts = url.hasPassword ? ['a password in its user information'] : [];
  for (const name of url.secretParameters) parts.push(`a secret in query parameter ${name}`);
  return `contains ${parts.join(' and ')}`;
}

function advice(redacted: string): string {
  const store =
    'store the password in Tessera and have the task build the URL from a secret variable';
  if (!redacted.startsWith('zk://')) return store;
  // Mesos reads any flag's value from a file given as file:///PATH.
  return (
    "give Mesos the URL as --zk=file:///PATH, which keeps it out of the process list, and let only operators read /flags (VIEW_FLAGS in the ACLs); in a task's definition, " +
    store
  );
}

function inspectUrl(url: string): UrlInspection {
  const authorityStart = url.indexOf('://') + 3;
  const authorityEnd = firstIndexOf(url, '/?#', authorityStart);
  const authority = url.slice(authorityStart, authorityEnd);
  const at = authority.lastIndexOf('@');
  const userinfo = at === -1 ? '' : authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  const password = colon === -1 ? '' : userinfo.slice(colon + 1);
  const query = redactQuery(url.slice(authorityEnd));
  return {
    redacted: `${url.slice(0, authorityStart)}${at === -1 ? '' : '***@'}${authority.slice(at + 1)}${query.text}`,
    hasPassword: password !== '' && !isReference(password) && !/^\*+$/.test(password),
    secretParameters: query.secretParameters,
  };
}

// Masks the values of query parameters whose names look secret (`?password=...`).
function redactQuery(rest: string): { text: string; secretParameters: string[] } {
  const secretParameters: string[] = [];
  const text = rest.replace(/([?&;])([^=&;#]+)=([^&;#]*)/g, (whole, separator, name, value) => {
    if (classifyName(name) !== 'secret' || isHarmlessValue(value)) return whole;
    secretParameters.push(name);
    return `${separator}${name}=${MASK}`;
  });
  return { text, secretParameters };
}

function firstIndexOf(text: string, characters: string, from: number): number {
  for (let index = from; index < text.length; index += 1) {
    if (characters.includes(text[index] as string)) return index;
  }
  return text.length;
}
