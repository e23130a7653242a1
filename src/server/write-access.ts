import type { FastifyRequest } from 'fastify';
import type { Capability } from '../access/policy.ts';
import type { Caller } from '../access/tokens.ts';
import type { AppContext } from './app.ts';
import { requireCapability } from './authorize.ts';

// A path has a secret once it has metadata, which a data write, a metadata write, a
// pending write or a rotation policy creates. Every route that can create that metadata
// needs `create` on a path without it, so that `update` or `rotate` alone never brings a
// secret into being.

/**
 * Picks `create` for a path with no secret yet, else `update`, as Vault does. The denial
 * message names only the path, so it does not reveal which one was picked.
 */
export async function writeCapability(context: AppContext, path: string): Promise<Capability> {
  return (await context.store.readMetadata(path)) ? 'update' : 'create';
}

/**
 * Authorises a write of `path` and returns the caller and the check-and-set version the
 * write must carry. A caller who may create but not update writes with cas 0, so that a
 * write racing another create fails instead of overwriting it.
 */
export async function authorizeWrite(
  request: FastifyRequest,
  context: AppContext,
  path: string,
  cas: number | undefined,
): Promise<{ caller: Caller; cas: number | undefined }> {
  const capability = await writeCapability(context, path);
  const caller = await requireCapability(request, context, capability, path, {
    operation: 'secret.write',
  });
  if (capability !== 'create' || cas !== undefined) return { caller, cas };

  const mayUpdate = (await context.access.decide(caller, 'update', path)).allowed;
  return { caller, cas: mayUpdate ? undefined : 0 };
}

/**
 * Requires `create` on `path` when it has no secret yet, for a route whose own capability
 * (`rotate`) does not imply creating one. Does nothing on a path with a secret.
 */
export async function requireCreateOnNewPath(
  request: FastifyRequest,
  context: AppContext,
  path: string,
): Promise<void> {
  if ((await writeCapability(context, path)) === 'create') {
    await requireCapability(request, context, 'create', path);
  }
}
