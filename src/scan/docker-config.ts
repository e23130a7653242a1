import { isTesseraError } from '../errors.ts';
import { decodeBase64 } from '../mesos/base64.ts';
import { printable } from '../mesos/secret-rules.ts';
import { type Detection, MASK } from './finding.ts';
import { childPath } from './json-path.ts';
import { redactUrls } from './urls.ts';

// Docker Hub is reachable under several names, and Docker writes its credentials under the first.
const DOCKER_HUB = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

// Fields of an `auths` entry that hold a credential in Docker's config.json.
const CREDENTIAL_FIELDS = ['auth', 'password', 'identitytoken', 'registrytoken'];

/**
 * Returns the registry host of a Docker image name: the first path component when it
 * contains `.` or `:` or is `localhost`, as Docker reads it, else Docker Hub.
 */
export function imageRegistry(image: string): string {
  const slash = image.indexOf('/');
  const first = slash === -1 ? '' : image.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return normalizeRegistry(first);
  }
  return 'docker.io';
}

/** Returns the host of a config.json `auths` key (`https://index.docker.io/v1/`). */
export function normalizeRegistry(key: string): string {
  const host = key
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .split('/')[0]
    ?.toLowerCase();
  if (host === undefined || DOCKER_HUB.has(host)) return 'docker.io';
  return host;
}

/**
 * Reports each registry in a Docker config's `auths` object (at `location`) that has a
 * credential. An `auth` field is base64 of `user:password`. It is decoded only to check
 * that form, and the decoded bytes are wiped and never shown. When `registries` (those of
 * the images beside the config) is not empty, a registry outside it is reported as an
 * unrelated credential, because every task that receives the file receives it too.
 */
export function dockerAuthDetections(
  auths: Record<string, unknown>,
  location: string,
  registries: ReadonlySet<string>,
): Detection[] {
  const detections: Detection[] = [];
  for (const [registry, entry] of Object.entries(auths)) {
    if (!hasCredential(entry)) continue;
    const name = printable(redactUrls(registry));
    const unrelated = registries.size > 0 && !registries.has(normalizeRegistry(registry));
    const form = describeAuth((entry as Record<string, unknown>).auth);
    detections.push({
      location: childPath(location, registry),
      severity: 'high',
      kind: unrelated ? 'docker-auth-unrelated' : 'docker-auth',
      message: unrelated
        ? `Docker config contains a credential for registry ${name}${form}, which no image here uses: an unrelated credential that every task receiving the file can read; remove it from this config`
        : `Docker config contains a credential for registry ${name}${form}; store the config in Tessera and deliver it as a file secret (see docs/scan.md)`,
      redacted: MASK,
    });
  }
  return detections;
}

function hasCredential(entry: unknown): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  const fields = entry as Record<string, unknown>;
  return CREDENTIAL_FIELDS.some(
    (field) => typeof fields[field] === 'string' && fields[field] !== '',
  );
}

// Describes the `auth` field without showing any part of it.
function describeAuth(auth: unknown): string {
  if (typeof auth !== 'string' || auth === '') return '';
  let decoded: Buffer;
  try {
    decoded = decodeBase64(auth, 'auth');
  } catch (error) {
    if (isTesseraError(error)) return ` (auth ${MASK}, which is not valid base64)`;
    throw error;
  }
  const colon = decoded.indexOf(':');
  const complete = colon > 0 && colon < decoded.length - 1;
  decoded.fill(0);
  return complete
    ? ` (auth ${MASK}, a user name and password)`
    : ` (auth ${MASK}, which does not decode to user:password)`;
}
