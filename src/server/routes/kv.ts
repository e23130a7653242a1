import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DURATION_INPUT, parseDuration } from '../../access/duration.ts';
import type { Capability } from '../../access/policy.ts';
import { isTesseraError, TesseraError } from '../../errors.ts';
import { parseListPrefix, parseSecretPath } from '../../store/path.ts';
import type { MetadataPatch, VersionInfo } from '../../store/store.ts';
import type { AppContext } from '../app.ts';
import {
  type AuditDetail,
  authenticatedCaller,
  requireCapability,
  requireRead,
} from '../authorize.ts';
import { errorBody } from '../errors.ts';
import { parseBody } from '../input.ts';
import { checkSecretSize } from '../limits.ts';
import {
  fieldsFromStrings,
  fieldsToStrings,
  secretMetadata,
  storedVersionMetadata,
  vaultResponse,
  versionMetadata,
  versionsOf,
} from '../vault-format.ts';
import { authorizeWrite, writeCapability } from '../write-access.ts';

// HashiCorp Vault's KV version 2 API, mounted at `secret/` as in a Vault dev server.
const MOUNT = '/v1/secret';

type Query = { version?: string; list?: string };

/** Registers data, metadata, delete, undelete, destroy and list under `/v1/secret/`. */
export function registerKvRoutes(app: FastifyInstance, context: AppContext) {
  const { secrets } = context;

  const guard = async (request: FastifyRequest, capability: Capability, detail: AuditDetail) => {
    const path = parseSecretPath(wildcard(request));
    if (capability !== 'read') await rejectMountedWrite(request, context, path);
    const caller = await requireCapability(request, context, capability, path, detail);
    return { path, caller };
  };

  app.get(`${MOUNT}/data/*`, async (request, reply) => {
    const path = parseSecretPath(wildcard(request));
    try {
      const { read } = await readRequested(request, context);
      const data = { data: fieldsToStrings(path, read.fields), metadata: read.metadata };
      return vaultResponse(request.id, data);
    } catch (error) {
      return replyDeletedLikeVault(error, context, { request, reply, path });
    }
  });

  const write = async (request: FastifyRequest) => {
    const path = parseSecretPath(wildcard(request));
    await rejectMountedWrite(request, context, path);
    const body = (request.body ?? {}) as { data?: unknown; options?: { cas?: unknown } };
    const requested = casOption(body.options?.cas);
    const { caller, cas } = await authorizeWrite(request, context, path, requested);
    const fields = fieldsFromStrings(body.data, 'data');
    checkSecretSize(path, fields, context.limits.maxSecretBytes);
    const info = await secrets.put(path, fields, { cas, author: caller.accessor });
    return vaultResponse(request.id, await storedVersionMetadata(context.store, path, info));
  };
  app.post(`${MOUNT}/data/*`, write);
  app.put(`${MOUNT}/data/*`, write);

  // `vault kv patch`: merges fields into the current version (JSON merge patch, RFC 7396:
  // null removes a field) and writes the result as a new version, checked against the
  // version it was merged from.
  app.patch(`${MOUNT}/data/*`, async (request) => {
    const { path, caller } = await guard(request, 'update', { operation: 'secret.patch' });
    const body = (request.body ?? {}) as { data?: unknown; options?: { cas?: unknown } };
    const current = await secrets.read(path);
    const fields = mergeFields(current.fields, body.data);
    checkSecretSize(path, fields, context.limits.maxSecretBytes);
    const cas = casOption(body.options?.cas) ?? current.info.version;
    const info = await secrets.put(path, fields, { cas, author: caller.accessor });
    return vaultResponse(request.id, await storedVersionMetadata(context.store, path, info));
  });

  app.delete(`${MOUNT}/data/*`, async (request, reply) => {
    await secrets.deleteLatest(
      (await guard(request, 'delete', { operation: 'secret.delete' })).path,
    );
    return reply.code(204).send();
  });

  const versionsRoute = (
    action: string,
    capability: Capability,
    run: (path: string, versions: number[]) => Promise<unknown>,
  ) => {
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const versions = versionsOf(request.body);
      const { path } = await guard(request, capability, {
        operation: `secret.${action}`,
        versions,
      });
      await run(path, versions);
      return reply.code(204).send();
    };
    app.post(`${MOUNT}/${action}/*`, handler);
    app.put(`${MOUNT}/${action}/*`, handler);
  };
  versionsRoute('delete', 'delete', (p, v) => secrets.deleteVersions(p, v));
  versionsRoute('undelete', 'update', (p, v) => secrets.undeleteVersions(p, v));
  versionsRoute('destroy', 'destroy', (p, v) => secrets.destroyVersions(p, v));

  app.get(`${MOUNT}/metadata/*`, async (request) => {
    if (isListQuery(request.query as Query)) return list(request);
    const { path } = await guard(request, 'read', { operation: 'secret.metadata.read' });
    rejectMountedMetadata(context, path);
    return vaultResponse(request.id, secretMetadata(await secrets.metadata(path)));
  });
  // NOTE: Vault's LIST verb is not served: Node's HTTP parser rejects unknown methods.
  // Clients list with GET and ?list=true (node-vault: noCustomHTTPVerbs).

  async function list(request: FastifyRequest) {
    const prefix = parseListPrefix(wildcard(request));
    await requireCapability(request, context, 'list', prefix, { operation: 'secret.list' });
    return vaultResponse(request.id, { keys: await listKeys(context, prefix) });
  }

  // A metadata write creates a secret without versions on a new path, so it needs `create`
  // there and `update` on a path with a secret, as a data write does.
  // NOTE: unlike a data write, it has no check-and-set, so a create-only caller racing
  // another create can change the metadata of the secret that the other one made.
  const writeMetadata = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = parseSecretPath(wildcard(request));
    await rejectMountedWrite(request, context, path);
    const capability = await writeCapability(context, path);
    await requireCapability(request, context, capability, path, {
      operation: 'secret.metadata.write',
    });
    await secrets.writeMetadata(path, metadataPatch(request));
    return reply.code(204).send();
  };
  app.post(`${MOUNT}/metadata/*`, writeMetadata);
  app.put(`${MOUNT}/metadata/*`, writeMetadata);

  app.delete(`${MOUNT}/metadata/*`, async (request, reply) => {
    // Deleting the metadata erases every version for good, so it takes `destroy`.
    const { path } = await guard(request, 'destroy', { operation: 'secret.metadata.delete' });
    await secrets.deleteAll(path);
    return reply.code(204).send();
  });
}

/** Returns the secret path after the route's prefix, as Fastify decoded it. */
export function wildcard(request: FastifyRequest): string {
  return (request.params as { '*': string })['*'] ?? '';
}

/** Parses `?version=N`; absent or 0 means the current version, as in Vault. */
export function versionParam(query: Query): number | undefined {
  if (query.version === undefined || query.version === '' || query.version === '0') {
    return undefined;
  }
  const version = Number(query.version);
  if (!/^\d+$/.test(query.version) || !Number.isSafeInteger(version)) {
    throw new TesseraError('INVALID_ARGUMENT', 'version must be a whole number, e.g. ?version=2');
  }
  return version;
}

function isListQuery(query: Query): boolean {
  return query.list === 'true' || query.list === '1';
}

function mergeFields(current: Record<string, Buffer>, patch: unknown): Record<string, Buffer> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'data must be a JSON object of field names to strings or null',
    );
  }
  const removed = Object.entries(patch)
    .filter(([, value]) => value === null)
    .map(([name]) => name);
  const kept = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== null));
  const merged = { ...current, ...fieldsFromStrings(kept, 'data') };
  for (const name of removed) delete merged[name];
  return merged;
}

function casOption(cas: unknown): number | undefined {
  if (cas === undefined || cas === null) return undefined;
  if (typeof cas === 'number' && Number.isSafeInteger(cas) && cas >= 0) return cas;
  throw new TesseraError(
    'INVALID_ARGUMENT',
    `options.cas must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, the version to check against`,
  );
}

// Vault's fields of a metadata write. Vault's `delete_version_after` soft-deletes each
// version that long after it is written. Tessera does not, so it takes only 0 (never).
const metadataBody = z.strictObject({
  max_versions: z.number().int().min(0).optional(),
  cas_required: z.boolean().optional(),
  custom_metadata: z.record(z.string(), z.string()).optional(),
  delete_version_after: DURATION_INPUT.optional(),
});

function metadataPatch(request: FastifyRequest): MetadataPatch {
  const body = parseBody(metadataBody, request);
  const after = body.delete_version_after;
  if (after !== undefined && parseDuration(after, 'delete_version_after') !== 0) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'delete_version_after is not supported by Tessera, which deletes versions only on request (DELETE /v1/secret/data/PATH or POST /v1/secret/delete/PATH); remove the field or send "0s"',
    );
  }
  return {
    maxVersions: body.max_versions,
    casRequired: body.cas_required,
    customMetadata: body.custom_metadata,
  };
}

// Vault responds to a read of a deleted or destroyed version with 404 and the version's
// metadata (`data.data` null), so clients can tell it from "not found".
async function replyDeletedLikeVault(
  error: unknown,
  context: AppContext,
  { request, reply, path }: { request: FastifyRequest; reply: FastifyReply; path: string },
) {
  const deleted =
    isTesseraError(error, 'VERSION_DELETED') || isTesseraError(error, 'VERSION_DESTROYED');
  if (!deleted) throw error;
  const info = (error.details as { info: VersionInfo }).info;
  const metadata = await storedVersionMetadata(context.store, path, info);
  const body = {
    ...vaultResponse(request.id, { data: null, metadata }),
    ...errorBody(error, request.id),
  };
  return reply.code(404).send(body);
}

/**
 * Rejects a write, delete or metadata change of a path under a mounted backend with
 * READ_ONLY_MOUNT. The caller is authenticated first, so that only a token holder learns
 * where the mounts are.
 */
export async function rejectMountedWrite(
  request: FastifyRequest,
  context: AppContext,
  path: string,
): Promise<void> {
  const match = context.mounts?.find(path);
  if (!match || !context.mounts) return;
  await authenticatedCaller(request, context);
  throw context.mounts.readOnlyError(path, match);
}

/**
 * Reads `path` from the backend mounted over it, with Vault-shaped metadata, or returns
 * undefined when no backend is mounted there. A backend without versions reports its one
 * value as version 1.
 */
export async function readMounted(context: AppContext, path: string, version?: number) {
  const match = context.mounts?.find(path);
  if (!match) return undefined;
  const read = await match.mount.backend.read(match.relative, version);
  const info: VersionInfo = {
    version: read.version ?? 1,
    createdTime: '',
    deletionTime: null,
    destroyed: false,
    author: match.mount.backend.kind,
  };
  return { fields: read.fields, metadata: versionMetadata(info, null), version: read.version };
}

/**
 * Authorises and reads the version that a data route's path and `?version=N` name (the
 * current one without it), from the backend mounted there or the store.
 */
export async function readRequested(request: FastifyRequest, context: AppContext) {
  const path = parseSecretPath(wildcard(request));
  const version = versionParam(request.query as Query);
  const read = await requireRead(
    request,
    context,
    path,
    { operation: 'secret.read', version },
    () => readVersion(context, path, version),
    (found) => found.metadata.version,
  );
  return { path, read };
}

async function readVersion(context: AppContext, path: string, version?: number) {
  const mounted = await readMounted(context, path, version);
  if (mounted) return mounted;
  const secret = await context.secrets.read(path, version);
  return {
    fields: secret.fields,
    metadata: await storedVersionMetadata(context.store, path, secret.info),
  };
}

function rejectMountedMetadata(context: AppContext, path: string) {
  const match = context.mounts?.find(path);
  if (!match) return;
  throw new TesseraError(
    'NOT_FOUND',
    `secret '${path}' comes from ${match.mount.backend.description}, which keeps no metadata in Tessera; read it with GET /v1/secret/data/${path}`,
    { path },
  );
}

// Lists a backend's names under a mounted prefix, or the store's with the mount folders
// directly under `prefix` added, so that `tessera list` shows where the mounts are.
async function listKeys(context: AppContext, prefix: string): Promise<string[]> {
  const match = context.mounts?.find(prefix);
  if (match) {
    const { backend } = match.mount;
    if (!backend.list) {
      throw new TesseraError('INVALID_ARGUMENT', `${backend.description} cannot list secrets`);
    }
    return backend.list(match.relative);
  }
  const folders = context.mounts?.folderNames(prefix) ?? [];
  const keys = await context.secrets.list(prefix).catch((error) => {
    if (folders.length > 0 && isTesseraError(error, 'NOT_FOUND')) return [];
    throw error;
  });
  return [...new Set([...keys, ...folders])].sort();
}
