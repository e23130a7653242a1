import type { FastifyRequest } from 'fastify';
import { isTesseraError, TesseraError } from '../errors.ts';
import { decodeBase64 } from '../mesos/base64.ts';
import { referencePath } from '../mesos/secrets.ts';
import { parseSecretPath } from '../store/path.ts';
import { missingFieldMessage } from '../text.ts';
import type { AppContext } from './app.ts';
import { requireRead } from './authorize.ts';

/**
 * One resolved secret: its bytes as base64, and for references where they came from. A
 * reference to a backend without versions (a file, the environment) has a keyed
 * fingerprint of its value instead of a version.
 */
export interface ResolvedItem {
  data: string;
  path?: string;
  field?: string;
  version?: number;
  fingerprint?: string;
}

interface ItemError {
  index: number;
  code: string;
  message: string;
}

interface SecretRead {
  fields: Record<string, Buffer>;
  version?: number;
}

/** The largest batch accepted, so that one request cannot ask for unbounded work. */
export const MAX_BATCH = 1000;

/**
 * Resolves a batch of Mesos `Secret` messages, in order, as Mesos's `SecretResolver` does:
 * a REFERENCE is looked up (`name` is the path, `key` the field, else `value`), a VALUE
 * passes through. Each path is read once per batch. If any item fails, the whole batch
 * fails with one error per item, so a task never starts with part of its secrets.
 */
export async function resolveBatch(
  request: FastifyRequest,
  context: AppContext,
  body: unknown,
): Promise<ResolvedItem[]> {
  const items = batchItems(body);
  const reads = new Map<string, Promise<SecretRead>>();
  const errors: ItemError[] = [];
  const resolved: ResolvedItem[] = [];

  for (const [index, item] of items.entries()) {
    try {
      resolved.push(await resolveOne(item, index, { request, context, reads }));
    } catch (error) {
      // A failure of the server itself (an audit sink that cannot be written) fails the
      // request as a whole rather than one item.
      if (!isTesseraError(error) || (error.status >= 500 && !isBackendFailure(error))) {
        throw error;
      }
      errors.push({ index, code: error.code, message: error.message });
    }
  }

  if (errors.length > 0) {
    const lines = errors.map((e) => `secrets[${e.index}]: ${e.message}`).join('; ');
    throw new TesseraError(
      'RESOLVE_FAILED',
      `${errors.length} of ${items.length} secrets failed to resolve: ${lines}`,
      { errors },
    );
  }
  return resolved;
}

function batchItems(body: unknown): unknown[] {
  const items = (body as { secrets?: unknown } | null)?.secrets;
  if (!Array.isArray(items) || items.length === 0) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'secrets must be a non-empty array of Mesos Secret messages',
    );
  }
  if (items.length > MAX_BATCH) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `secrets holds ${items.length} items; send at most ${MAX_BATCH} per request`,
    );
  }
  return items;
}

interface ResolveContext {
  request: FastifyRequest;
  context: AppContext;
  reads: Map<string, Promise<SecretRead>>;
}

async function resolveOne(
  item: unknown,
  index: number,
  context: ResolveContext,
): Promise<ResolvedItem> {
  const secret = (item ?? {}) as {
    type?: unknown;
    reference?: { name?: unknown; key?: unknown };
    value?: { data?: unknown };
  };

  if (secret.type === 'VALUE') {
    if (secret.reference !== undefined || typeof secret.value?.data !== 'string') {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        'a VALUE secret must have value.data (base64) and no reference',
      );
    }
    return {
      data: decodeBase64(secret.value.data, `secrets[${index}].value.data`).toString('base64'),
    };
  }

  if (secret.type !== 'REFERENCE') {
    throw new TesseraError('INVALID_ARGUMENT', 'type must be REFERENCE or VALUE');
  }
  const name = secret.reference?.name;
  const key = secret.reference?.key;
  if (
    typeof name !== 'string' ||
    secret.value !== undefined ||
    (key !== undefined && typeof key !== 'string')
  ) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'a REFERENCE secret must have reference.name (and optionally reference.key) and no value',
    );
  }
  const { path: rawPath, field } = referencePath({ name, key: key as string | undefined });
  const path = parseSecretPath(rawPath);
  const readOnce = () => {
    let read = context.reads.get(path);
    if (!read) {
      read = readSecret(context.context, path);
      context.reads.set(path, read);
    }
    return read;
  };
  const found = await requireRead(
    context.request,
    context.context,
    path,
    { operation: 'secret.resolve' },
    readOnce,
    (secret) => secret.version,
  );
  const bytes = Object.hasOwn(found.fields, field) ? found.fields[field] : undefined;
  if (!bytes) {
    throw new TesseraError('NOT_FOUND', missingFieldMessage(path, field, found.fields));
  }
  const data = bytes.toString('base64');
  if (found.version !== undefined) return { data, path, field, version: found.version };
  return {
    data,
    path,
    field,
    fingerprint: context.context.secrets.fingerprint(path, field, bytes),
  };
}

/**
 * Reads the current version of `path`, from the backend mounted over it if there is one,
 * else from the store. A backend's own failure (Vault unreachable, or rejecting Tessera's
 * credentials) is marked, so that it fails its item rather than the whole batch.
 */
export async function readSecret(context: AppContext, path: string): Promise<SecretRead> {
  const match = context.mounts?.find(path);
  if (!match) {
    const found = await context.secrets.read(path);
    return { fields: found.fields, version: found.info.version };
  }
  try {
    return await match.mount.backend.read(match.relative);
  } catch (error) {
    if (!isTesseraError(error) || error.status < 500) throw error;
    throw new TesseraError(error.code, error.message, { ...error.details, backendFailure: true });
  }
}

function isBackendFailure(error: TesseraError): boolean {
  return error.details?.backendFailure === true;
}
