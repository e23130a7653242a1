import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { isTesseraError, TesseraError } from '../../errors.ts';
import { parseSecretPath } from '../../store/path.ts';
import type { AppContext } from '../app.ts';
import { authenticatedCaller, requireCapability } from '../authorize.ts';
import { inputError } from '../input.ts';
import { TaskVersions } from '../task-versions.ts';
import { vaultResponse } from '../vault-format.ts';

const reportBody = z.object({
  task_id: z.string().min(1).max(1024),
  secrets: z.array(z.object({ path: z.string(), version: z.number().int().min(1) })).max(1024),
});

/**
 * Registers the records of which secret versions tasks received:
 * `POST /v1/tessera/tasks/versions`, which `tessera exec` calls after each resolution
 * (it needs `read` on each path, as the resolution did), and
 * `GET /v1/tessera/tasks?path=P`, which lists the tasks that received a version of P
 * and needs `list` on P. Reports reach the other server processes through the cluster.
 */
export function registerTaskRoutes(app: FastifyInstance, context: AppContext): void {
  const records = new TaskVersions();
  context.cluster?.subscribe((message) => {
    if (message.kind === 'task-versions') records.report(message.taskId, message.secrets);
  });

  app.post('/v1/tessera/tasks/versions', async (request) => {
    await authenticatedCaller(request, context);
    const body = reportBody.safeParse(request.body);
    if (!body.success) throw inputError(body.error, 'request body');

    const secrets = body.data.secrets.map((item) => ({
      ...item,
      path: parseSecretPath(item.path),
    }));
    for (const { path, version } of secrets) {
      await requireCapability(request, context, 'read', path, version);
    }
    records.report(body.data.task_id, secrets);
    context.cluster?.publish({ kind: 'task-versions', taskId: body.data.task_id, secrets });
    return vaultResponse(request.id, { task_id: body.data.task_id, secrets: secrets.length });
  });

  app.get('/v1/tessera/tasks', async (request) => {
    const path = queryPath(request);
    await requireCapability(request, context, 'list', path);
    const current = await currentVersion(context, path);
    const tasks = records.forPath(path).map((record) => ({
      task_id: record.taskId,
      version: record.version,
      reported_time: record.reportedTime,
      outdated: current !== null && record.version < current,
    }));
    return vaultResponse(request.id, { path, current_version: current, tasks });
  });
}

function queryPath(request: FastifyRequest): string {
  const path = (request.query as { path?: unknown }).path;
  if (typeof path !== 'string') {
    throw new TesseraError('INVALID_ARGUMENT', 'give one secret path as ?path=P');
  }
  return parseSecretPath(path);
}

async function currentVersion(context: AppContext, path: string): Promise<number | null> {
  try {
    return (await context.secrets.metadata(path)).currentVersion;
  } catch (error) {
    if (isTesseraError(error, 'NOT_FOUND')) return null;
    throw error;
  }
}
