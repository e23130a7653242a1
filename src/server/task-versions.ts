/** Most tasks remembered; the one reported longest ago is forgotten first. */
export const MAX_TASK_RECORDS = 10_000;

/** Maximum time a report may be kept without a refresh, in seconds (one day). */
export const MAX_REPORT_TTL_SECONDS = 86_400;

/** The version of one secret that a task runs with, and when the task reported it. */
export interface TaskVersion {
  taskId: string;
  path: string;
  version: number;
  reportedTime: string;
  /** When the report lapses unless the task reports again; undefined for never. */
  expiresTime: string | undefined;
}

interface TaskRecord {
  versions: Map<string, TaskVersion>;
  expiresAtMs: number;
  /** The accessor of the token that made the report. */
  owner: string | undefined;
}

/**
 * Which version of each secret every task runs with, as `tessera exec` reports it once
 * the command has started, after each change, and again before the report lapses. Kept
 * in memory only. A task drops out when it reports its end, when its last report lapses
 * (a `tessera exec` killed with SIGKILL reports nothing more), or when newer tasks push
 * it past `MAX_TASK_RECORDS`.
 * NOTE: the records are lost when the server restarts, so after a restart a task shows
 * up again only at its next report. Replicas send each other new reports, but a replica
 * that starts does not get the reports made before.
 */
export class TaskVersions {
  readonly #byTask = new Map<string, TaskRecord>();
  readonly #limit: number;
  readonly #now: () => number;

  constructor(limit: number = MAX_TASK_RECORDS, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /**
   * Records the versions a task now runs with, replacing what it reported before. The
   * record lapses after `ttlSeconds` without another report; without it, it is kept.
   * `owner` is the accessor of the token that reports.
   */
  report(
    taskId: string,
    secrets: readonly { path: string; version: number }[],
    ttlSeconds?: number,
    owner?: string,
  ): void {
    const now = this.#now();
    const reportedTime = new Date(now).toISOString();
    const expiresAtMs =
      ttlSeconds === undefined ? Number.POSITIVE_INFINITY : now + ttlSeconds * 1000;
    const expiresTime = ttlSeconds === undefined ? undefined : new Date(expiresAtMs).toISOString();
    const versions = new Map<string, TaskVersion>();
    for (const { path, version } of secrets) {
      // A path reported twice runs with its oldest version somewhere.
      const earlier = versions.get(path);
      if (earlier !== undefined && earlier.version <= version) continue;
      versions.set(path, { taskId, path, version, reportedTime, expiresTime });
    }
    // Deleting first moves the task to the end of the insertion order, the newest place.
    this.#byTask.delete(taskId);
    this.#byTask.set(taskId, { versions, expiresAtMs, owner });
    for (const oldest of this.#byTask.keys()) {
      if (this.#byTask.size <= this.#limit) break;
      this.#byTask.delete(oldest);
    }
  }

  /** Forgets a task, once it has ended. */
  forget(taskId: string): void {
    this.#byTask.delete(taskId);
  }

  /** Returns the accessor of the token that made a task's live record, if any. */
  ownerOf(taskId: string): string | undefined {
    return this.#live(taskId)?.owner;
  }

  /** Lists the paths of a task's live record; empty when there is none. */
  pathsOf(taskId: string): string[] {
    const record = this.#live(taskId);
    return record === undefined ? [] : [...record.versions.keys()];
  }

  /** Lists the tasks whose live record names `path`, oldest version first. */
  forPath(path: string): TaskVersion[] {
    const found: TaskVersion[] = [];
    for (const taskId of [...this.#byTask.keys()]) {
      const record = this.#live(taskId)?.versions.get(path);
      if (record !== undefined) found.push(record);
    }
    return found.sort((a, b) => a.version - b.version || a.taskId.localeCompare(b.taskId));
  }

  // Returns the task's record unless it has lapsed, and drops a lapsed one.
  #live(taskId: string): TaskRecord | undefined {
    const record = this.#byTask.get(taskId);
    if (record === undefined || record.expiresAtMs > this.#now()) return record;
    this.#byTask.delete(taskId);
    return undefined;
  }
}
