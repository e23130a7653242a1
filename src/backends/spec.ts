import type { Logger } from 'pino';
import { TesseraError } from '../errors.ts';
import type { Backend } from './backend.ts';
import { EnvBackend, SERVER_VARIABLE_PREFIX } from './env.ts';
import { FileBackend } from './file.ts';
import { type Mount, Mounts, parseMountPrefix } from './mounts.ts';
import { checkCredentialFiles, type VaultAuthConfig } from './vault/auth.ts';
import { VaultBackend } from './vault/backend.ts';

/** A backend as configured: what `--mount PREFIX=SPEC` and the `--secrets_*` flags give. */
export type BackendSpec =
  | { kind: 'file'; file: string; dcosBase64: boolean }
  | { kind: 'env'; prefix: string; variables: Record<string, string | undefined> }
  | {
      kind: 'vault';
      address: string;
      path: string;
      auth: VaultAuthConfig;
      kv?: { path: string; version: 1 | 2 };
      cacheTtlMs: number;
      deadlineMs?: number;
    };

/** A backend spec and the prefix it is mounted at ('' for the root). */
export interface MountSpec {
  prefix: string;
  spec: BackendSpec;
}

/** How long a Vault read is served from memory unless `cache_ttl` says otherwise. */
export const DEFAULT_VAULT_CACHE_TTL_MS = 5_000;

const VAULT_OPTIONS = [
  'path',
  'token_file',
  'role_id_file',
  'secret_id_file',
  'approle_mount',
  'mount',
  'kv_version',
  'cache_ttl',
  'deadline',
];

/**
 * Parses `PREFIX=SPEC`, where SPEC is `file:PATH[,dcos_base64]`, `env:VARIABLE_PREFIX` or
 * `vault:URL,OPTION=VALUE,...` (see docs/backends.md). `variables` is the environment an
 * `env:` spec reads. Throws CONFIG_INVALID naming the flag value's part that is wrong;
 * a Vault URL is never quoted, since it might carry credentials.
 */
export function parseMountSpec(
  text: string,
  variables: Record<string, string | undefined>,
): MountSpec {
  const equals = text.indexOf('=');
  if (equals === -1) {
    throw invalid('--mount takes PREFIX=SPEC, as in ext/=file:/etc/tessera/secrets.json');
  }
  const prefix = parseMountPrefix(text.slice(0, equals));
  return { prefix, spec: parseBackendSpec(text.slice(equals + 1), variables) };
}

/**
 * Parses SPEC of `--mount PREFIX=SPEC`; see `parseMountSpec`. `envFlag` names the flag
 * that gave an `env:` prefix in messages.
 */
export function parseBackendSpec(
  text: string,
  variables: Record<string, string | undefined>,
  envFlag = '--mount',
): BackendSpec {
  const colon = text.indexOf(':');
  const kind = colon === -1 ? text : text.slice(0, colon);
  const rest = colon === -1 ? '' : text.slice(colon + 1);
  if (kind === 'file') return fileSpec(rest);
  if (kind === 'env') return envSpec(rest, variables, envFlag);
  if (kind === 'vault') return vaultSpec(rest);
  throw invalid(`a backend spec starts with file:, env: or vault:, not '${kind.slice(0, 20)}'`);
}

// An empty prefix would serve every variable of the server's environment, and one that
// starts with TESSERA_ only the server's own settings, which the backend withholds.
function envSpec(
  prefix: string,
  variables: Record<string, string | undefined>,
  flag: string,
): BackendSpec {
  if (prefix === '') {
    throw invalid(
      `${flag} has an empty environment variable prefix, which would serve the whole server environment; give one, such as MSEC_`,
    );
  }
  if (prefix.startsWith(SERVER_VARIABLE_PREFIX)) {
    throw invalid(
      `${flag} has the environment variable prefix '${prefix}', but variables starting with ${SERVER_VARIABLE_PREFIX} configure the server and are never served; choose another prefix, such as MSEC_`,
    );
  }
  return { kind: 'env', prefix, variables };
}

function fileSpec(rest: string): BackendSpec {
  const [file = '', ...flags] = rest.split(',');
  if (file === '') throw invalid('file: needs a path, as in file:/etc/tessera/secrets.json');
  const unknown = flags.filter((flag) => flag !== 'dcos_base64');
  if (unknown.length > 0)
    throw invalid(`file: knows only the option dcos_base64, not '${unknown[0]}'`);
  return { kind: 'file', file, dcosBase64: flags.includes('dcos_base64') };
}

function vaultSpec(rest: string): BackendSpec {
  const [address = '', ...pairs] = rest.split(',');
  if (!URL.canParse(address) || !/^https?:$/.test(new URL(address).protocol)) {
    throw invalid(
      'vault: needs an http or https address, as in vault:https://vault.example:8200,token_file=/run/vault-token',
    );
  }
  const options = new Map<string, string>();
  for (const pair of pairs) {
    const [name = '', value = ''] = [
      pair.slice(0, pair.indexOf('=')),
      pair.slice(pair.indexOf('=') + 1),
    ];
    if (!pair.includes('=') || !VAULT_OPTIONS.includes(name)) {
      throw invalid(
        `vault: options are ${VAULT_OPTIONS.join(', ')}; '${pair.split('=')[0]}' is not one`,
      );
    }
    options.set(name, value);
  }
  return {
    kind: 'vault',
    address,
    path: options.get('path') ?? '',
    auth: vaultAuth(options),
    kv: pinnedMount(options),
    cacheTtlMs: seconds(options, 'cache_ttl') ?? DEFAULT_VAULT_CACHE_TTL_MS,
    deadlineMs: seconds(options, 'deadline'),
  };
}

function vaultAuth(options: Map<string, string>): VaultAuthConfig {
  const tokenFile = options.get('token_file');
  const roleIdFile = options.get('role_id_file');
  const secretIdFile = options.get('secret_id_file');
  if (tokenFile && !roleIdFile && !secretIdFile) return { method: 'token', tokenFile };
  if (!tokenFile && roleIdFile && secretIdFile) {
    return {
      method: 'approle',
      roleIdFile,
      secretIdFile,
      mount: options.get('approle_mount') ?? 'approle',
    };
  }
  throw invalid('vault: needs token_file=FILE, or role_id_file=FILE and secret_id_file=FILE');
}

function pinnedMount(options: Map<string, string>) {
  const path = options.get('mount');
  const version = options.get('kv_version');
  if (path === undefined && version === undefined) return undefined;
  if (path === undefined || (version !== '1' && version !== '2')) {
    throw invalid('vault: mount=PATH and kv_version=1|2 go together');
  }
  return { path, version: version === '2' ? (2 as const) : (1 as const) };
}

function seconds(options: Map<string, string>, name: string): number | undefined {
  const text = options.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text === '' || !Number.isFinite(value) || value < 0) {
    throw invalid(`vault: ${name} is a number of seconds, as in ${name}=5`);
  }
  return value * 1000;
}

/** Opens the backends of `specs` and mounts them; on a failure, closes those already open. */
export async function openMounts(specs: MountSpec[], logger?: Logger): Promise<Mounts> {
  const mounts: Mount[] = [];
  try {
    for (const { prefix, spec } of specs) {
      mounts.push({ prefix, backend: await openBackend(spec, logger) });
      logger?.info({ prefix: prefix || '/', backend: spec.kind }, 'backend mounted');
    }
    return new Mounts(mounts);
  } catch (error) {
    await Promise.all(mounts.map(({ backend }) => backend.close()));
    throw error;
  }
}

async function openBackend(spec: BackendSpec, logger?: Logger): Promise<Backend> {
  if (spec.kind === 'file') {
    return FileBackend.open({ file: spec.file, dcosBase64: spec.dcosBase64, logger });
  }
  if (spec.kind === 'env') {
    const backend = new EnvBackend(spec);
    if (backend.skipped.length > 0) {
      logger?.warn(
        { skipped: backend.skipped },
        'environment variables skipped: not valid secret paths',
      );
    }
    if (backend.withheld.length > 0) {
      logger?.warn(
        { withheld: backend.withheld },
        `environment variables withheld: ${SERVER_VARIABLE_PREFIX} variables configure the server`,
      );
    }
    return backend;
  }
  await checkCredentialFiles(spec.auth);
  return new VaultBackend({
    address: spec.address,
    path: spec.path,
    auth: spec.auth,
    kv: spec.kv,
    cacheTtlMs: spec.cacheTtlMs,
    timing: spec.deadlineMs === undefined ? undefined : { deadlineMs: spec.deadlineMs },
    logger,
  });
}

function invalid(message: string): TesseraError {
  return new TesseraError('CONFIG_INVALID', message);
}
