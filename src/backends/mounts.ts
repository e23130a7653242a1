import { TesseraError } from '../errors.ts';
import { parseListPrefix } from '../store/path.ts';
import type { Backend, BackendHealth } from './backend.ts';

/** A backend and the path prefix it serves: '' for the root, else a path ending in '/'. */
export interface Mount {
  prefix: string;
  backend: Backend;
}

/** The mount a path falls under, and the path relative to its prefix. */
export interface MountMatch {
  mount: Mount;
  relative: string;
}

/** The health of one mounted backend. */
export interface MountHealth extends BackendHealth {
  prefix: string;
  kind: Backend['kind'];
  backend: string;
}

/**
 * Parses a mount prefix: '' or '/' is the root, anything else a valid secret path, to
 * which a trailing '/' is added. Throws INVALID_PATH.
 */
export function parseMountPrefix(raw: string): string {
  return raw === '/' ? '' : parseListPrefix(raw);
}

/**
 * Routes paths to read-only backends by longest mount prefix. Paths under no prefix stay
 * with the store.
 */
export class Mounts {
  readonly #mounts: Mount[];

  constructor(mounts: Mount[]) {
    const seen = new Set<string>();
    for (const { prefix } of mounts) {
      if (seen.has(prefix)) {
        throw new TesseraError(
          'CONFIG_INVALID',
          `two backends are mounted at '${prefix || '/'}'; give each --mount its own prefix`,
        );
      }
      seen.add(prefix);
    }
    this.#mounts = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Whether any backend is mounted. */
  get empty(): boolean {
    return this.#mounts.length === 0;
  }

  /** Finds the mount with the longest prefix of `path` (a parsed secret path or list prefix). */
  find(path: string): MountMatch | undefined {
    const mount = this.#mounts.find((candidate) => path.startsWith(candidate.prefix));
    return mount && { mount, relative: path.slice(mount.prefix.length) };
  }

  /** Builds the error for a write, delete or metadata change under a mount. */
  readOnlyError(path: string, match: MountMatch): TesseraError {
    const { prefix, backend } = match.mount;
    const where = prefix === '' ? 'every path' : `'${prefix}'`;
    return new TesseraError(
      'READ_ONLY_MOUNT',
      `secrets under ${where} come from ${backend.description} and are read-only; change them there`,
      { path, prefix, backend: backend.kind },
    );
  }

  /** Names of mount folders directly under the list prefix `prefix`, ending in '/'. */
  folderNames(prefix: string): string[] {
    const names = new Set<string>();
    for (const { prefix: mounted } of this.#mounts) {
      if (mounted === prefix || !mounted.startsWith(prefix)) continue;
      const rest = mounted.slice(prefix.length);
      names.add(rest.slice(0, rest.indexOf('/') + 1));
    }
    return [...names];
  }

  /** Reports every mounted backend's state. */
  health(): MountHealth[] {
    return this.#mounts.map(({ prefix, backend }) => ({
      prefix: prefix || '/',
      kind: backend.kind,
      backend: backend.description,
      ...backend.health(),
    }));
  }

  /** Closes every backend: watchers, timers and renewals. */
  async close(): Promise<void> {
    await Promise.all(this.#mounts.map(({ backend }) => backend.close()));
  }
}
