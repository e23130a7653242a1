import { TesseraError } from '../../errors.ts';
import { emptyRecord } from '../../records.ts';

/** A KV secrets engine mount: its path (ending in '/') and version. */
export interface KvMount {
  path: string;
  version: 1 | 2;
}

/**
 * Reads the KV mounts from a mount table, the body of `GET /v1/sys/internal/ui/mounts`
 * (`data.secret`) or of `GET /v1/sys/mounts` (`data`, or the top level on old servers).
 * `options.version` "2" means KV v2; a KV mount without it, or a `generic` mount, is v1.
 */
export function kvMountsOf(body: unknown): KvMount[] | undefined {
  const data = (body as { data?: { secret?: unknown } } | undefined)?.data;
  const table = (data?.secret ?? data ?? body) as Record<string, unknown> | undefined;
  if (typeof table !== 'object' || table === null) return undefined;
  const mounts: KvMount[] = [];
  for (const [path, entry] of Object.entries(table)) {
    const { type, options } = (entry ?? {}) as { type?: unknown; options?: { version?: unknown } };
    if (!path.endsWith('/') || (type !== 'kv' && type !== 'generic')) continue;
    mounts.push({ path, version: String(options?.version ?? '1') === '2' ? 2 : 1 });
  }
  return mounts;
}

/** Finds the KV mount with the longest prefix of `vaultPath`, so nested mounts win. */
export function findKvMount(mounts: KvMount[], vaultPath: string): KvMount | undefined {
  let best: KvMount | undefined;
  for (const mount of mounts) {
    if (!vaultPath.startsWith(mount.path)) continue;
    if (!best || mount.path.length > best.path.length) best = mount;
  }
  return best;
}

/**
 * Builds the API path of a read: `mount/data/rest` on KV v2 and `mount/rest` on KV v1.
 * A secret whose own path contains the word `data` is left as it is.
 */
export function apiPathOf(mount: KvMount, vaultPath: string): string {
  const rest = vaultPath.slice(mount.path.length);
  return mount.version === 2 ? `${mount.path}data/${rest}` : `${mount.path}${rest}`;
}

/**
 * Turns a KV value into bytes: a string as its UTF-8 bytes; a number, boolean, null,
 * array or object as its JSON text with object keys sorted, so the same value always
 * gives the same bytes (5432 becomes `5432`, `{"b":1,"a":2}` becomes `{"a":2,"b":1}`).
 */
export function valueBytes(value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** Turns a KV `data` object into bytes per field. */
export function fieldsOf(data: unknown, apiPath: string): Record<string, Buffer> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `Vault answered /v1/${apiPath} without a data object; check that the mount is a KV engine`,
    );
  }
  const fields = emptyRecord<Buffer>();
  for (const [name, value] of Object.entries(data)) fields[name] = valueBytes(value);
  return fields;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    const members = keys.map(
      (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
    );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
