import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { isTesseraError, TesseraError } from '../../errors.ts';
import { parseSecretPath } from '../../store/path.ts';
import type { AppContext } from '../app.ts';
import { requireCapability, requireTaskReporter } from '../authorize.ts';
import { inputError } from '../input.ts';
import { MAX_REPORT_TTL_SECONDS, TaskVersions } from '../task-versions.ts';
import { vaultResponse } from '../vault-format.ts';

const taskId = z.string().min(1).max(1024);

const reportBody = z.object({
  task_id: taskId,
  secrets: z.array(z.object({ path: z.string(), version: z.number().int().min(1) })).max(1024),
  ttl_seconds: z.number().int().min(1).max(MAX_REPORT_TTL_SECONDS).optional(),
});

const endedBody = z.object({ task_id: taskId });

/**
 * Registers the records of which secret versions tasks run with:
 * `POST /v1/tessera/tasks/versions`, which `tessera exec` calls once the command runs,
 * after each change and before the report lapses (it needs `read` on each path, as the
 * resolution did), `POST /v1/tessera/tasks/ended`, which it calls when it ends (it needs
 * `read` on each path of the task's record), and `GET /v1/tessera/tasks?path=P`, which
 * lists the tasks that run with a version of P and needs `list` on P. Reports and ends
 * reach the other server processes through the cluster.
 */
export function registerTaskRoutes(app: FastifyInstance, context: AppContext): void {
  const records = new TaskVersions();
  context.cluster?.subscribe((message) => {
    if (message.kind === 'task-versions') {
      records.report(message.taskId, message.secrets, message.ttlSeconds, message.owner);
    } else if (message.kind === 'task-ended') {
      records.forget(message.taskId);
    }
  });

  // A task that the master reports ended drops out at once, even when its `tessera exec`
  // was killed before it could report its end.
  context.mesos?.onTasksEnded((ended) => {
    for (const { taskId } of ended) records.forget(taskId);
  });

  app.post('/v1/tessera/tasks/versions', async (request) => {
    const body = reportBody.safeParse(request.body);
    if (!body.success) throw inputError(body.error, 'request body');

    const { task_id: id, ttl_seconds: ttlSeconds } = body.data;
    const secrets = body.data.secrets.map((item) => ({
      ...item,
      path: parseSecretPath(item.path),
    }));
    for (const { path, version } of secrets) {
      await requireCapability(request, context, 'read', path, {
        operation: 'tasks.report',
        version,
      });
    }
    const owner = records.ownerOf(id);
    const caller = await requireTaskReporter(request, context, 'tasks.report', id, owner);
    records.report(id, secrets, ttlSeconds, caller.accessor);
    context.cluster?.publish({
      kind: 'task-versions',
      taskId: id,
      secrets,
      ttlSeconds,
      owner: caller.accessor,
    });
    return vaultResponse(request.id, { task_id: id, secrets: secrets.length });
  });

  app.post('/v1/tessera/tasks/ended', async (request) => {
    const body = endedBody.safeParse(request.body);
    if (!body.success) throw inputError(body.error, 'request body');

    const id = body.data.task_id;
    for (const path of records.pathsOf(id)) {
      await requireCapability(request, context, 'read', path, { operation: 'tasks.end' });
    }
    await requireTaskReporter(request, context, 'tasks.end', id, records.ownerOf(id));
    records.forget(id);
    context.cluster?.publish({ kind: 'task-ended', taskId: id });
    return vaultResponse(request.id, { task_id: id });
  });

  app.get('/v1/tessera/tasks', async (request) => {
    const path = queryPath(request);
    await requireCapability(request, context, 'list', path);
    const current = await currentVersion(context, path);
    const tasks = records.forPath(path).map((record) => ({
      task_id: record.taskId,
      version: record.version,
      reported_time: record.reportedTime,
      expires_time: record.expiresTime ?? null,
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
