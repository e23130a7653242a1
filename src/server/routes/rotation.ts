import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TesseraError } from '../../errors.ts';
import type { RotationView, Rotator } from '../../rotation/rotator.ts';
import { parseSecretPath } from '../../store/path.ts';
import type { SecretMetadata, StageLabels } from '../../store/store.ts';
import type { AppContext } from '../app.ts';
import { requireCapability } from '../authorize.ts';
import { parseInput } from '../input.ts';
import { vaultResponse } from '../vault-format.ts';
import { requireCreateOnNewPath } from '../write-access.ts';
import { wildcard } from './kv.ts';

const PREFIX = '/v1/tessera';

const promoteBody = z.strictObject({ version: z.number().int().min(1).optional() });
const rollbackBody = z.strictObject({ version: z.number().int().min(1) });

/**
 * Registers staging and rotation under `/v1/tessera/`: `rotation/*` (GET, PUT, DELETE a
 * policy), `rotate/*` (run one now), `promote/*`, `rollback/*` and `history/*`. Changing
 * stages or policies takes the `rotate` capability; reading them takes `read`. No route
 * returns a secret value: hooks read the pending version through the data routes.
 */
export function registerRotationRoutes(app: FastifyInstance, context: AppContext): void {
  const { secrets } = context;

  const guard = async (request: FastifyRequest, capability: 'read' | 'rotate') => {
    const path = parseSecretPath(wildcard(request));
    await requireCapability(request, context, capability, path);
    return path;
  };

  app.get(`${PREFIX}/rotation/*`, async (request) => {
    const path = await guard(request, 'read');
    const view = await rotatorOf(context).view(path);
    if (view === undefined) throw noPolicy(path);
    return vaultResponse(request.id, formatView(view));
  });

  // A policy on a path without a secret creates its metadata, and running it writes the
  // first version, so both need `create` there besides `rotate`.
  app.put(`${PREFIX}/rotation/*`, async (request) => {
    const path = await guard(request, 'rotate');
    await requireCreateOnNewPath(request, context, path);
    // A hook is a command the server runs, with the server's rights. Choosing one is
    // therefore an administrator's decision, not part of rotating a secret.
    if (hasHook(request.body)) {
      await requireCapability(request, context, 'admin', `sys/rotation/${path}`);
    }
    const view = await rotatorOf(context).setPolicy(path, request.body);
    return vaultResponse(request.id, formatView(view));
  });

  app.delete(`${PREFIX}/rotation/*`, async (request, reply) => {
    const path = await guard(request, 'rotate');
    if (!(await rotatorOf(context).deletePolicy(path))) throw noPolicy(path);
    return reply.code(204).send();
  });

  app.post(`${PREFIX}/rotate/*`, async (request) => {
    const path = await guard(request, 'rotate');
    await requireCreateOnNewPath(request, context, path);
    const event = await rotatorOf(context).rotate(path);
    return vaultResponse(request.id, { path, ...event });
  });

  app.post(`${PREFIX}/promote/*`, async (request) => {
    const path = await guard(request, 'rotate');
    const body = parseInput(promoteBody, request.body ?? {}, 'request body');
    const stages = await secrets.promote(path, body.version);
    return vaultResponse(request.id, { path, stages: formatStages(stages) });
  });

  app.post(`${PREFIX}/rollback/*`, async (request) => {
    const path = await guard(request, 'rotate');
    const body = parseInput(rollbackBody, request.body, 'request body');
    const stages = await secrets.rollback(path, body.version);
    return vaultResponse(request.id, { path, stages: formatStages(stages) });
  });

  app.get(`${PREFIX}/history/*`, async (request) => {
    const path = await guard(request, 'read');
    const metadata = await secrets.metadata(path);
    const view = context.rotator ? await context.rotator.view(path) : undefined;
    return vaultResponse(request.id, {
      path,
      stages: formatStages(metadata.stages),
      versions: formatVersions(metadata),
      rotation: view === undefined ? null : formatView(view),
    });
  });
}

function hasHook(body: unknown): boolean {
  const hook = (body as { hook?: unknown } | null | undefined)?.hook;
  return hook !== undefined && hook !== null;
}

function rotatorOf(context: AppContext): Rotator {
  if (context.rotator) return context.rotator;
  throw new TesseraError('INTERNAL', 'rotation is not enabled on this server');
}

function noPolicy(path: string): TesseraError {
  return new TesseraError(
    'NOT_FOUND',
    `secret ${path} has no rotation policy; set one with tessera rotation set ${path}`,
    { path },
  );
}

function formatStages(stages: StageLabels) {
  return { current: stages.current, previous: stages.previous, pending: stages.pending };
}

function formatVersions(metadata: SecretMetadata) {
  const labels = (version: number) =>
    (['current', 'previous', 'pending'] as const).filter(
      (stage) => metadata.stages[stage] === version,
    );
  return metadata.versions.map((info) => ({
    version: info.version,
    created_time: info.createdTime,
    author: info.author,
    deletion_time: info.deletionTime ?? '',
    destroyed: info.destroyed,
    stages: labels(info.version),
  }));
}

function formatView(view: RotationView) {
  return {
    path: view.path,
    policy: view.policy,
    next_run_time: view.nextRunTime,
    step: view.state.step,
    pending_version: view.state.pendingVersion,
    started_time: view.state.startedTime,
    events: view.state.events,
  };
}
