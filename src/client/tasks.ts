import type { TesseraClient } from './client.ts';

/** A task that received a version of a secret, as `GET /v1/tessera/tasks` lists it. */
export interface TaskVersionRecord {
  task_id: string;
  version: number;
  reported_time: string;
  outdated: boolean;
}

/** Records on the server which version of each secret a task received. */
export async function reportTaskVersions(
  client: TesseraClient,
  taskId: string,
  secrets: readonly { path: string; version: number }[],
): Promise<void> {
  await client.request('POST', '/v1/tessera/tasks/versions', { task_id: taskId, secrets });
}

/** Lists the tasks that received a version of `path`, with the secret's current version. */
export async function listTaskVersions(
  client: TesseraClient,
  path: string,
): Promise<{ path: string; current_version: number | null; tasks: TaskVersionRecord[] }> {
  const body = await client.request<{
    data: { path: string; current_version: number | null; tasks: TaskVersionRecord[] };
  }>('GET', `/v1/tessera/tasks?path=${encodeURIComponent(path)}`);
  return body.data;
}
