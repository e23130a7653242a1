import { TesseraError } from '../errors.ts';

/** A secret read from a backend: bytes per field, and the backend's version when it has one. */
export interface BackendRead {
  fields: Record<string, Buffer>;
  /** The version the backend reported (Vault KV v2 `metadata.version`); absent otherwise. */
  version?: number;
}

/** The state of a backend as health reports it. */
export interface BackendHealth {
  ok: boolean;
  /** The reason the backend is degraded, safe to show (never a value or a token). */
  reason: string | null;
}

/**
 * A read-only source of secrets mounted at a path prefix. Paths given to it are relative
 * to the prefix and already valid secret paths. Errors are TesseraError codes: NOT_FOUND,
 * VERSION_DELETED, VERSION_DESTROYED, PERMISSION_DENIED, BACKEND_AUTH_FAILED and
 * UNREACHABLE. No message contains a secret's bytes, a token or a URL with credentials.
 */
export interface Backend {
  /** The kind of backend, as written in a mount spec. */
  readonly kind: 'file' | 'env' | 'vault';
  /** Names the backend in messages, as in "the file backend /etc/secrets.json". */
  readonly description: string;
  /** Reads one secret; `version` is honoured only by backends that keep versions. */
  read(path: string, version?: number): Promise<BackendRead>;
  /** Lists the names directly under `prefix` ('' or ending in '/'); folders end in '/'. */
  list?(prefix: string): Promise<string[]>;
  health(): BackendHealth;
  close(): Promise<void>;
}

/**
 * Lists the names directly under `prefix` among `paths`, as Vault's LIST does: a path
 * with more segments below the prefix shows as its first segment followed by '/'.
 */
export function listChildren(paths: Iterable<string>, prefix: string): string[] {
  const names = new Set<string>();
  for (const path of paths) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length);
    const slash = rest.indexOf('/');
    names.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  return [...names].sort();
}

/**
 * Rejects a request for a given version from a backend that keeps one value per path.
 * Version 1 is accepted, because that one value is the only version there is.
 */
export function checkUnversioned(description: string, path: string, version?: number): void {
  if (version === undefined || version === 0 || version === 1) return;
  throw new TesseraError(
    'NOT_FOUND',
    `secret '${path}' has no version ${version}: ${description} keeps one value per secret; read it without a version`,
    { path, version },
  );
}

/** Builds the NOT_FOUND error for a path or field that a backend does not hold. */
export function notFound(description: string, path: string): TesseraError {
  return new TesseraError('NOT_FOUND', `no secret '${path}' in ${description}`, { path });
}
