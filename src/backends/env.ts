import { isTesseraError } from '../errors.ts';
import { parseSecretPath } from '../store/path.ts';
import {
  type Backend,
  type BackendHealth,
  type BackendRead,
  checkUnversioned,
  listChildren,
  notFound,
} from './backend.ts';

/** The one field an environment variable fills. */
export const ENV_FIELD = 'value';

/** Separates path segments in a variable name: `APP_DB__PASSWORD` is path `DB/PASSWORD`. */
export const ENV_SEGMENT_SEPARATOR = '__';

/** Settings of an environment backend. */
export interface EnvBackendOptions {
  /** Only variables whose names start with this text, compared case-sensitively. */
  prefix: string;
  /** The environment, as the entry point read it; library code never reads process.env. */
  variables: Record<string, string | undefined>;
}

/**
 * Serves environment variables read once at start. A variable `PREFIX` + `REST` becomes
 * the secret path `REST`, with each `__` turned into `/`, and its value the field
 * `value`, byte for byte as UTF-8: no `$` expansion, no quote stripping, and an empty
 * value is a present, empty secret. Names that do not form a valid secret path are
 * skipped and counted in `skipped`.
 */
export class EnvBackend implements Backend {
  readonly kind = 'env';
  readonly description: string;
  /** Variables under the prefix whose names do not form a valid secret path. */
  readonly skipped: string[] = [];
  readonly #secrets = new Map<string, Buffer>();

  constructor(options: EnvBackendOptions) {
    this.description = `the environment backend (variables starting with ${options.prefix})`;
    for (const [name, value] of Object.entries(options.variables)) {
      if (value === undefined || !name.startsWith(options.prefix)) continue;
      const path = pathOf(name.slice(options.prefix.length));
      if (path === undefined) {
        this.skipped.push(name);
        continue;
      }
      this.#secrets.set(path, Buffer.from(value, 'utf8'));
    }
  }

  /** The number of secrets served. */
  get size(): number {
    return this.#secrets.size;
  }

  async read(path: string, version?: number): Promise<BackendRead> {
    checkUnversioned(this.description, path, version);
    const value = this.#secrets.get(path);
    if (value === undefined) throw notFound(this.description, path);
    return { fields: { [ENV_FIELD]: Buffer.from(value) } };
  }

  async list(prefix: string): Promise<string[]> {
    return listChildren(this.#secrets.keys(), prefix);
  }

  health(): BackendHealth {
    return { ok: true, reason: null };
  }

  async close(): Promise<void> {}
}

function pathOf(rest: string): string | undefined {
  try {
    return parseSecretPath(rest.split(ENV_SEGMENT_SEPARATOR).join('/'));
  } catch (error) {
    if (isTesseraError(error, 'INVALID_PATH')) return undefined;
    throw error;
  }
}
