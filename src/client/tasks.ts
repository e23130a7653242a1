import type { TesseraClient } from './client.ts';

/** A task that runs with a version of a secret, as `GET /v1/tessera/tasks` lists it. */
export interface TaskVersionRecord {
  task_id: string;
  version: number;
  reported_time: string;
  /** When the report lapses unless the task reports again; null for never. */
  expires_time: string | null;
  outdated: boolean;
}

/**
 * Records on the server which version of each secret a task runs with. The record lapses
 * after `ttlSeconds` unless the task reports again.
 */
export async function reportTaskVersions(
  client: TesseraClient,
  taskId: string,
  secrets: readonly { path: string; version: number }[],
  ttlSeconds: number,
): Promise<void> {
  await client.request('POST', '/v1/tessera/tasks/versions', {
    task_id: taskId,
    secrets,
    ttl_seconds: ttlSeconds,
  });
}

/** Removes a task's record from the server, once the task has ended. */
export async function reportTaskEnded(client: TesseraClient, taskId: string): Promise<void> {
  await client.request('POST', '/v1/tessera/tasks/ended', { task_id: taskId });
}

/** Lists the tasks that run with a version of `path`, with the secret's current version. */
export async function listTaskVersions(
  client: TesseraClient,
  path: string,
): Promise<{ path: string; current_version: number | null; tasks: TaskVersionRecord[] }> {
  const body = await client.request<{
    data: { path: string; current_version: number | null; tasks: TaskVersionRecord[] };
  }>('GET', `/v1/tessera/tasks?path=${encodeURIComponent(path)}`);
  return body.data;
}
