import { setTimeout as sleep } from 'node:timers/promises';

import type { TesseraClient } from '../client/client.ts';
import { reportTaskEnded, reportTaskVersions } from '../client/tasks.ts';
import { type ResolveSecrets, resolveFailures } from '../delivery/plan.ts';
import type { ValueInUse } from '../delivery/session.ts';
import { errorCode, isTesseraError, TesseraError } from '../errors.ts';
import { decodeBase64 } from '../mesos/base64.ts';
import type { Secret } from '../mesos/types.ts';
import { MAX_REPORT_TTL_SECONDS } from '../server/task-versions.ts';

/** A report lapses on the server after this many refresh intervals without a refresh. */
const REFRESHES_PER_TTL = 3;

// The maximum refresh interval whose report lifetime the server accepts (8 hours).
const MAX_REFRESH_MS = (MAX_REPORT_TTL_SECONDS / REFRESHES_PER_TTL) * 1000;

/** Maximum wait for the server to record the end of the task, so that exit is not held up. */
const END_REPORT_TIMEOUT_MS = 2000;

interface PathVersion {
  path: string;
  version: number;
}

/** A value from a backend without versions, known by a keyed fingerprint instead. */
interface PathFingerprint {
  path: string;
  fingerprint: string;
}

interface Received extends PathVersion {
  bytes: Buffer;
}

/** Options of `TaskVersionReport`. */
export interface TaskVersionReportOptions {
  client: TesseraClient;
  taskId: string;
  /** Time between two reports of unchanged versions, in milliseconds. */
  refreshMs: number;
  /** Receives one line per version received and per failed report; never a value. */
  log: (line: string) => void;
}

/**
 * Tells the server which version of each secret the task's command runs with. `resolve`
 * resolves secrets and remembers the version of each value. `inUse`, given the value that
 * each use runs with, reports for each path the oldest version still in use, so that a
 * change that was not applied (policy `none`, or a value that cannot go into a variable)
 * keeps the old version. The report is sent again every `refreshMs`, and the server lets
 * it lapse after a few missed refreshes. `end` removes it.
 */
export class TaskVersionReport {
  readonly #options: TaskVersionReportOptions;
  // Every value received so far for each position of the batch, with its version.
  readonly #received = new Map<number, Received[]>();
  readonly #seen = new Map<string, string>();
  #last: PathVersion[] | undefined;
  #refresh: NodeJS.Timeout | undefined;

  constructor(options: TaskVersionReportOptions) {
    this.#options = options;
  }

  // A recheck interval over 8 hours would ask for a lifetime that the server rejects, so
  // the report is refreshed every 8 hours at the longest.
  get #refreshMs(): number {
    return Math.min(this.#options.refreshMs, MAX_REFRESH_MS);
  }

  /** Resolves secrets through the server and remembers the version of each value. */
  readonly resolve: ResolveSecrets = async (secrets) => {
    const resolved = await resolveWithVersions(this.#options.client, secrets);
    const { bytes, versions, fingerprints } = resolved;
    for (const [index, version] of versions.entries()) {
      if (version === undefined) continue;
      this.#remember(index, { ...version, bytes: bytes[index] as Buffer });
      this.#logReceived(version.path, `version ${version.version}`);
    }
    for (const print of fingerprints) {
      if (print === undefined) continue;
      this.#logReceived(print.path, `fingerprint ${print.fingerprint} (no versions there)`);
    }
    return bytes;
  };

  // Logs one line for each path the first time, and again when its version or fingerprint
  // changes.
  #logReceived(path: string, which: string): void {
    if (this.#seen.get(path) === which) return;
    this.#seen.set(path, which);
    this.#options.log(`received ${path} ${which}`);
  }

  /** Reports the versions the command runs with, given the value each use runs with. */
  readonly inUse = (values: readonly ValueInUse[]): void => {
    const oldest = new Map<string, number>();
    for (const { index, bytes } of values) {
      const match = this.#received.get(index)?.findLast((item) => item.bytes.equals(bytes));
      if (match === undefined) continue;
      const known = oldest.get(match.path);
      if (known === undefined || match.version < known) oldest.set(match.path, match.version);
    }
    this.#last = [...oldest].map(([path, version]) => ({ path, version }));
    void this.#send();
    this.#armRefresh();
  };

  /** Stops refreshing and removes the task's record from the server. */
  async end(): Promise<void> {
    clearInterval(this.#refresh);
    if (this.#last === undefined) return;

    const ended = reportTaskEnded(this.#options.client, this.#options.taskId).catch((error) =>
      this.#options.log(
        `could not record the end of the task on the server (${errorCode(error)}); it lapses later`,
      ),
    );
    await Promise.race([ended, sleep(END_REPORT_TIMEOUT_MS, undefined, { ref: false })]);
  }

  #remember(index: number, received: Received): void {
    const list = this.#received.get(index) ?? [];
    if (!list.some((item) => item.version === received.version && item.path === received.path)) {
      list.push(received);
    }
    this.#received.set(index, list);
  }

  #armRefresh(): void {
    if (this.#refresh !== undefined) return;
    this.#refresh = setInterval(() => void this.#send(), this.#refreshMs);
    this.#refresh.unref();
  }

  async #send(): Promise<void> {
    const secrets = this.#last;
    if (secrets === undefined || secrets.length === 0) return;
    const ttlSeconds = Math.ceil((this.#refreshMs * REFRESHES_PER_TTL) / 1000);
    await reportTaskVersions(this.#options.client, this.#options.taskId, secrets, ttlSeconds).catch(
      (error) =>
        this.#options.log(
          `could not record the versions in use on the server (${errorCode(error)}); continuing`,
        ),
    );
  }
}

/**
 * Resolves REFERENCE secrets through the server in one request and returns their bytes
 * with the path and version of each, by position; VALUE secrets are decoded locally and
 * have no version.
 */
export async function resolveWithVersions(
  client: TesseraClient,
  secrets: Secret[],
): Promise<{
  bytes: Buffer[];
  versions: (PathVersion | undefined)[];
  fingerprints: (PathFingerprint | undefined)[];
}> {
  const positions = secrets.flatMap((secret, index) => (secret.type === 'VALUE' ? [] : [index]));
  const references = positions.map((index) => secrets[index] as Secret);
  const resolved =
    references.length > 0
      ? await client.resolve(references).catch((error: unknown) => {
          throw withBatchPositions(error, positions);
        })
      : [];
  const versions: (PathVersion | undefined)[] = [];
  const fingerprints: (PathFingerprint | undefined)[] = [];
  let next = 0;
  const bytes = secrets.map((secret, index) => {
    if (secret.type === 'VALUE') {
      versions.push(undefined);
      fingerprints.push(undefined);
      return decodeBase64(secret.value?.data ?? '', `secret ${index} value.data`);
    }
    const item = resolved[next++];
    if (!item) {
      throw new TesseraError('INTERNAL', 'the server returned fewer secrets than were asked for');
    }
    const { path, version, fingerprint } = item;
    versions.push(path !== undefined && version !== undefined ? { path, version } : undefined);
    fingerprints.push(
      path !== undefined && fingerprint !== undefined ? { path, fingerprint } : undefined,
    );
    return item.data;
  });
  return { bytes, versions, fingerprints };
}

/**
 * Returns a failed resolution's error with the position of each failed item in the whole
 * batch, VALUE secrets included, instead of among the references sent to the server.
 */
function withBatchPositions(error: unknown, positions: readonly number[]): unknown {
  if (!isTesseraError(error, 'RESOLVE_FAILED')) return error;
  const items = resolveFailures(error);
  if (items === undefined) return error;
  const errors = items.map((item) => ({ ...item, index: positions[item.index] ?? item.index }));
  return new TesseraError(error.code, error.message, { ...error.details, errors });
}
