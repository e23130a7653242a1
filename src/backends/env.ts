import { isTesseraError, TesseraError } from '../errors.ts';
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

/**
 * The prefix of the server's own settings (`TESSERA_TOKEN`, `TESSERA_DATABASE_URL`), which
 * the backend never serves, whatever its prefix.
 */
export const SERVER_VARIABLE_PREFIX = 'TESSERA_';

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
 * skipped and listed in `skipped`, and the server's own `TESSERA_` variables in
 * `withheld`. Throws CONFIG_INVALID for an empty prefix, which would serve every variable.
 */
export class EnvBackend implements Backend {
  readonly kind = 'env';
  readonly description: string;
  /** Variables under the prefix whose names do not form a valid secret path. */
  readonly skipped: string[] = [];
  /** Variables under the prefix that configure the server, and so are never served. */
  readonly withheld: string[] = [];
  readonly #secrets = new Map<string, Buffer>();

  constructor(options: EnvBackendOptions) {
    if (options.prefix === '') {
      throw new TesseraError(
        'CONFIG_INVALID',
        'an environment backend needs a variable prefix, as in env:MSEC_',
      );
    }
    this.description = `the environment backend (variables starting with ${options.prefix})`;
    for (const [name, value] of Object.entries(options.variables)) {
      if (value === undefined || !name.startsWith(options.prefix)) continue;
      if (name.startsWith(SERVER_VARIABLE_PREFIX)) {
        this.withheld.push(name);
        continue;
      }
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
