import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TesseraError } from '../errors.ts';

/** One request that reached authorisation. Never a secret value, a token or a key. */
export interface AuditEntry {
  /** ISO 8601 time the request was decided. */
  time: string;
  request_id: string;
  /** Accessor of the caller's token (safe to log), or null before authentication. */
  accessor: string | null;
  operation: string;
  path: string | null;
  version: number | null;
  /** The versions a delete, undelete or destroy names; null or absent otherwise. */
  versions?: number[] | null;
  outcome: 'allowed' | 'denied' | 'error';
  reason: string | null;
  /** Client address. */
  client: string;
  /** Mesos task id of a task login, or null. */
  task_id: string | null;
}

/** An entry as stored on one line: its place in the chain, then the entry's fields. */
export interface AuditLine extends AuditEntry {
  seq: number;
  /** Hex SHA-256 of the previous line's bytes, or ZERO_HASH on the first line of a chain. */
  prev: string;
}

/** The `prev` of a chain's first line. */
export const ZERO_HASH = '0'.repeat(64);

/** The longest string the writer accepts in any field, in UTF-16 code units. */
export const MAX_FIELD_LENGTH = 1024;

/** Maximum number of versions in one entry. */
export const MAX_VERSIONS = 1000;

// Tokens are `tsr_` plus base64url (src/access/tokens.ts). Even a partial token in the log
// would help an attacker, so one base64url character after the prefix is enough to reject.
const TOKEN_PATTERN = /tsr_[A-Za-z0-9_-]/;

const auditString = z
  .string()
  .max(MAX_FIELD_LENGTH, `is longer than ${MAX_FIELD_LENGTH} characters`)
  .refine((text) => !TOKEN_PATTERN.test(text), 'contains a token-looking string (tsr_...)');

const entryShape = {
  time: z.iso
    .datetime({ offset: true, error: 'is not an ISO 8601 date-time' })
    .max(64, 'is longer than 64 characters'),
  request_id: auditString.min(1, 'is empty'),
  accessor: auditString.nullable(),
  operation: auditString.min(1, 'is empty'),
  path: auditString.nullable(),
  version: z.int('is not an integer').nonnegative('is negative').nullable(),
  // Lines written before this field existed lack it.
  versions: z
    .array(z.int('is not an integer').positive('is not positive'))
    .max(MAX_VERSIONS, `holds more than ${MAX_VERSIONS} versions`)
    .nullable()
    .optional(),
  outcome: z.enum(['allowed', 'denied', 'error'], 'is not allowed, denied or error'),
  reason: auditString.nullable(),
  client: auditString,
  task_id: auditString.nullable(),
};

// Unknown fields are stripped, not rejected, so that a caller's extra field (a value,
// a token) can never reach the file even through a type cast.
const entrySchema = z.object(entryShape);

const lineSchema = z.strictObject({
  seq: z.int('is not an integer').positive('is not positive'),
  prev: z.string().regex(/^[0-9a-f]{64}$/, 'is not 64 lower-case hex digits'),
  ...entryShape,
});

/**
 * Validates an entry and returns a copy holding only the AuditEntry fields. Throws
 * INVALID_ARGUMENT naming the field when one is invalid, longer than MAX_FIELD_LENGTH or
 * contains a token-looking string. The message never contains the field's value.
 */
export function parseAuditEntry(entry: AuditEntry): AuditEntry {
  const result = entrySchema.safeParse(entry);
  if (result.success) return result.data;

  throw new TesseraError(
    'INVALID_ARGUMENT',
    `audit entry rejected: ${describeIssue(result.error)}; ` +
      'the request was not logged, so it must not proceed',
    { field: result.error.issues[0]?.path.join('.') },
  );
}

/**
 * Parses one line of an audit file. Returns the line, or a reason why it is not one that
 * the writer produces; the reason never contains a field's value.
 */
export function parseAuditLine(text: string): AuditLine | string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  const result = lineSchema.safeParse(document);
  return result.success ? result.data : describeIssue(result.error);
}

/**
 * Serialises a line with the fixed key order: seq, prev, then the entry's fields. The
 * order is part of the format because the next line's `prev` hashes these exact bytes.
 */
export function serialiseLine(seq: number, prev: string, entry: AuditEntry): string {
  return JSON.stringify({
    seq,
    prev,
    time: entry.time,
    request_id: entry.request_id,
    accessor: entry.accessor,
    operation: entry.operation,
    path: entry.path,
    version: entry.version,
    versions: entry.versions ?? null,
    outcome: entry.outcome,
    reason: entry.reason,
    client: entry.client,
    task_id: entry.task_id,
  });
}

/** Returns the hex SHA-256 of a line's bytes, without its newline. */
export function hashLine(line: string | Uint8Array): string {
  return createHash('sha256').update(line).digest('hex');
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  if (issue.code === 'unrecognized_keys') return `unknown field ${issue.keys.join(', ')}`;
  const field = issue.path.join('.');
  if (issue.code === 'invalid_type') return `field ${field} is missing or of the wrong type`;
  return `field ${field} ${issue.message}`;
}
