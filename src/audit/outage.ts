import { randomUUID } from 'node:crypto';
import { TaskCancelledError } from 'cockatiel';
import type { AuditEntry } from './entry.ts';

/** The operation of the line the writer adds when a failed sink works again. */
export const RESUME_OPERATION = 'audit.resume';

/** A period during which the audit log could not be written. */
export interface Outage {
  /** The latest failure, without the file name, e.g. `write failed with ENOSPC`. */
  reason: string;
  since: Date;
  /** Writes rejected so far. */
  failures: number;
}

/**
 * Builds the entry that records an outage once the sink works again, so that a reader of
 * the log sees when requests were rejected unlogged, and how many.
 */
export function resumeEntry(outage: Outage, now: Date): AuditEntry {
  return {
    time: now.toISOString(),
    request_id: randomUUID(),
    accessor: null,
    operation: RESUME_OPERATION,
    path: null,
    version: null,
    outcome: 'error',
    reason:
      `audit log could not be written from ${outage.since.toISOString()} ` +
      `to ${now.toISOString()} (${outage.reason}); ${outage.failures} writes were rejected`,
    client: 'internal',
    task_id: null,
  };
}

/** Describes why a file operation failed, by its errno code or its timeout. */
export function describeFailure(error: unknown, action: string, timeoutMs: number): string {
  if (error instanceof TaskCancelledError) return `${action} did not finish within ${timeoutMs} ms`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ? `${action} failed with ${code}` : `${action} failed`;
}
