/** Most tasks remembered; the one reported longest ago is forgotten first. */
export const MAX_TASK_RECORDS = 10_000;

/** The version of one secret that a task received, and when it said so. */
export interface TaskVersion {
  taskId: string;
  path: string;
  version: number;
  reportedTime: string;
}

/**
 * Which version of each secret every task received, as `tessera exec` reports it after
 * each resolution. Kept in memory only.
 * NOTE: the records are lost when the server restarts, so after a restart a task shows
 * up again only at its next report. Replicas send each other new reports, but a replica
 * that starts does not get the reports made before.
 */
export class TaskVersions {
  readonly #byTask = new Map<string, Map<string, TaskVersion>>();
  readonly #limit: number;

  constructor(limit: number = MAX_TASK_RECORDS) {
    this.#limit = limit;
  }

  /** Records the versions a task now runs with, replacing what it reported before. */
  report(taskId: string, secrets: readonly { path: string; version: number }[]): void {
    const reportedTime = new Date().toISOString();
    const records = new Map<string, TaskVersion>();
    for (const { path, version } of secrets) {
      records.set(path, { taskId, path, version, reportedTime });
    }
    // Deleting first moves the task to the end of the insertion order, the newest place.
    this.#byTask.delete(taskId);
    this.#byTask.set(taskId, records);
    for (const oldest of this.#byTask.keys()) {
      if (this.#byTask.size <= this.#limit) break;
      this.#byTask.delete(oldest);
    }
  }

  /** Forgets a task, once it has ended. */
  forget(taskId: string): void {
    this.#byTask.delete(taskId);
  }

  /** Lists the tasks that received a version of `path`, oldest version first. */
  forPath(path: string): TaskVersion[] {
    const found: TaskVersion[] = [];
    for (const records of this.#byTask.values()) {
      const record = records.get(path);
      if (record !== undefined) found.push(record);
    }
    return found.sort((a, b) => a.version - b.version || a.taskId.localeCompare(b.taskId));
  }
}
