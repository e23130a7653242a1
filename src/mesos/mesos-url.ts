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
