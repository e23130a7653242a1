import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Capability } from '../access/policy.ts';
import type { Caller } from '../access/tokens.ts';
import { type AuditEntry, MAX_FIELD_LENGTH, MAX_VERSIONS } from '../audit/entry.ts';
import { isTesseraError, TesseraError } from '../errors.ts';
import type { AppContext } from './app.ts';

/** Destination of audit entries; the server runs without one when no audit file is set. */
export interface AuditSink {
  write(entry: AuditEntry): Promise<void>;
  health(): { ok: boolean; reason: string | null; failures: number };
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
    /** The targets this request was allowed so far, for an entry if it then fails. */
    auditedAllowed?: AuditTarget[];
  }
}

/** Details of a request that its audit entry records, besides the capability checked. */
export interface AuditDetail {
  /** The operation, as `secret.undelete`; the capability checked when absent. */
  operation?: string;
  /** The version the request names, or for a read, the version it read. */
  version?: number;
  /** The versions that a delete, undelete or destroy names. */
  versions?: number[];
}

interface AuditTarget {
  operation: string;
  path: string | null;
  version: number | null;
  versions?: number[] | null;
}

/**
 * Authenticates the request's token, once per request. A failed authentication is
 * audited as a denial without an accessor.
 */
export async function authenticatedCaller(
  request: FastifyRequest,
  context: AppContext,
): Promise<Caller> {
  if (request.caller) return request.caller;
  try {
    request.caller = await context.access.authenticate(tokenOf(request));
  } catch (error) {
    if (isTesseraError(error)) {
      context.failures.recordFailure(request.ip);
      await audit(
        request,
        context,
        { operation: 'authenticate', path: null, version: null },
        'denied',
        error.message,
      );
    }
    throw error;
  }
  return request.caller;
}

/**
 * The one place where a request is authorised: decides whether the caller may use
 * `capability` on `path` (already validated), records the decision in the audit log
 * before anything is returned, and throws PERMISSION_DENIED when it is not allowed.
 * A denial reads the same whether or not the path exists.
 */
export async function requireCapability(
  request: FastifyRequest,
  context: AppContext,
  capability: Capability,
  path: string,
  detail: AuditDetail = {},
): Promise<Caller> {
  const caller = await authenticatedCaller(request, context);
  const decision = await context.access.decide(caller, capability, path);
  const target = auditTarget(capability, path, detail);
  const reason = decisionReason(capability, target, decision.reason);
  await audit(request, context, target, decision.allowed ? 'allowed' : 'denied', reason);

  if (!decision.allowed) throw permissionDenied(path);
  return caller;
}

/**
 * Authorises a read of `path` and runs `read`. The entry of an allowed read is written
 * after the read and before the response, so that it records the version read (from
 * `versionOf`), and still fails closed. A denied read is recorded before anything is
 * read. A read that fails is recorded as allowed, then as an error.
 */
export async function requireRead<T>(
  request: FastifyRequest,
  context: AppContext,
  path: string,
  detail: AuditDetail,
  read: () => Promise<T>,
  versionOf: (result: T) => number | undefined,
): Promise<T> {
  const caller = await authenticatedCaller(request, context);
  const decision = await context.access.decide(caller, 'read', path);
  const target = auditTarget('read', path, detail);
  const reason = decisionReason('read', target, decision.reason);
  if (!decision.allowed) {
    await audit(request, context, target, 'denied', reason);
    throw permissionDenied(path);
  }

  let result: T;
  try {
    result = await read();
  } catch (error) {
    await audit(request, context, target, 'allowed', reason);
    await recordFailure(request, context, error, [target]);
    throw error;
  }
  const version = versionOf(result) ?? target.version;
  await audit(request, context, { ...target, version }, 'allowed', reason);
  return result;
}

/**
 * Registers the hook that records an allowed request that then failed: one entry per
 * allowed target, with outcome `error` and the error's code and message as the reason.
 * The response is already an error, so an entry that cannot be written is only logged.
 */
export function auditFailedRequests(app: FastifyInstance, context: AppContext): void {
  app.addHook('onError', async (request, _reply, error) => {
    await recordFailure(request, context, error);
  });
}

// Records the failure for `targets`, or for every target allowed so far.
async function recordFailure(
  request: FastifyRequest,
  context: AppContext,
  error: unknown,
  targets: AuditTarget[] = request.auditedAllowed ?? [],
) {
  request.auditedAllowed = (request.auditedAllowed ?? []).filter((t) => !targets.includes(t));
  if (isTesseraError(error, 'AUDIT_UNAVAILABLE')) return;
  // An unexpected error's message may quote its input, so only its type is recorded.
  const reason = isTesseraError(error)
    ? `${error.code}: ${error.message}`.slice(0, MAX_FIELD_LENGTH)
    : `INTERNAL: ${error instanceof Error ? error.name : typeof error}`;
  for (const target of targets) {
    try {
      await audit(request, context, target, 'error', reason);
    } catch (failure) {
      request.log.error(
        { reqId: request.id, reason: (failure as Error).message },
        'could not record the failure of an allowed request',
      );
    }
  }
}

function auditTarget(capability: Capability, path: string, detail: AuditDetail): AuditTarget {
  const versions = detail.versions ?? null;
  if (versions && versions.length > MAX_VERSIONS) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `versions names ${versions.length} versions; name at most ${MAX_VERSIONS} per request`,
    );
  }
  const operation = detail.operation ?? capability;
  return { operation, path, version: detail.version ?? null, versions };
}

// The reason names the capability when the operation's name does not.
function decisionReason(capability: Capability, target: AuditTarget, reason: string): string {
  return target.operation === capability ? reason : `${reason} (capability ${capability})`;
}

function permissionDenied(path: string): TesseraError {
  return new TesseraError('PERMISSION_DENIED', `permission denied on '${path}'`, { path });
}

/**
 * Records, before it happens, an operation a token may do on itself without any
 * capability: creating a child token, and looking up, renewing or revoking itself.
 * Like every authorised request, it fails closed when the audit log cannot be written.
 */
export async function auditOwnTokenOperation(
  request: FastifyRequest,
  context: AppContext,
  operation: string,
): Promise<Caller> {
  const caller = await authenticatedCaller(request, context);
  const target = { operation, path: `sys/tokens/${caller.accessor}`, version: null };
  await audit(request, context, target, 'allowed', 'a token may do this on itself');
  return caller;
}

/**
 * Authorises a write of `path`'s pending version: by `rotate` on the path, or because
 * `mayWrite` grants it to this caller (a rotation hook in its create step). Audits the
 * decision like `requireCapability`.
 */
export async function requirePendingWrite(
  request: FastifyRequest,
  context: AppContext,
  path: string,
  mayWrite: (caller: Caller) => Promise<boolean>,
): Promise<Caller> {
  const caller = await authenticatedCaller(request, context);
  const operation = 'secret.write-pending';
  if (!(await mayWrite(caller))) {
    return requireCapability(request, context, 'rotate', path, { operation });
  }
  const target = { operation, path, version: null };
  await audit(request, context, target, 'allowed', 'hook token of the rotation in its create step');
  return caller;
}

/**
 * Authorises a report of the versions task `taskId` runs with, or of its end. A token made
 * for one Mesos task (its `task_id`) reports only for that task, and always may. A live
 * report made by another token is otherwise replaced or ended only with `admin` on
 * `sys/tasks/<taskId>`, so that a reader of a secret cannot hide or forge what other tasks
 * run with. Audits a denial, and an allowed use of `admin`; the reads that a report needs
 * are audited on their own.
 */
export async function requireTaskReporter(
  request: FastifyRequest,
  context: AppContext,
  operation: 'tasks.report' | 'tasks.end',
  taskId: string,
  owner: string | undefined,
): Promise<Caller> {
  const caller = await authenticatedCaller(request, context);
  const path = `sys/tasks/${taskId}`;
  const target = { operation, path, version: null };
  const ownTask = caller.meta.task_id;
  if (ownTask !== undefined && ownTask !== taskId) {
    await audit(request, context, target, 'denied', `the token is for task ${ownTask}`);
    throw new TesseraError(
      'PERMISSION_DENIED',
      `this token is for Mesos task '${ownTask}' and reports only for it`,
      { path },
    );
  }
  // The task's own token wins over a report that another token made first.
  if (owner === undefined || owner === caller.accessor || ownTask === taskId) return caller;
  const decision = await context.access.decide(caller, 'admin', path);
  const reason = `another token reports for the task; ${decision.reason}`;
  await audit(request, context, target, decision.allowed ? 'allowed' : 'denied', reason);
  if (!decision.allowed) {
    throw new TesseraError(
      'PERMISSION_DENIED',
      `another token reports for task '${taskId}'; report with that token, wait until its report lapses, or get admin on '${path}'`,
      { path },
    );
  }
  return caller;
}

/**
 * Records a Mesos task's login: allowed with the accessor of the token it gets, or denied
 * with the reason. An allowed login fails closed, like every authorised request, before
 * the token is returned.
 */
export async function auditTaskLogin(
  request: FastifyRequest,
  context: AppContext,
  login: { taskId: string; role: string; accessor: string | null },
  outcome: 'allowed' | 'denied',
  reason: string,
): Promise<void> {
  const target = { operation: 'login.mesos', path: `sys/login-roles/${login.role}`, version: null };
  await audit(request, context, target, outcome, reason, {
    accessor: login.accessor,
    taskId: login.taskId,
  });
}

async function audit(
  request: FastifyRequest,
  context: AppContext,
  target: AuditTarget,
  outcome: AuditEntry['outcome'],
  reason: string | null,
  subject?: { accessor: string | null; taskId: string },
) {
  if (!context.audit) return;
  const entry: AuditEntry = {
    time: new Date().toISOString(),
    request_id: request.id,
    accessor: subject ? subject.accessor : (request.caller?.accessor ?? null),
    operation: target.operation,
    path: target.path,
    version: target.version,
    versions: target.versions ?? null,
    outcome,
    reason,
    client: request.ip,
    task_id: subject ? subject.taskId : (request.caller?.meta?.task_id ?? null),
  };
  try {
    await context.audit.write(entry);
    if (outcome === 'allowed') request.auditedAllowed = [...(request.auditedAllowed ?? []), target];
  } catch (error) {
    if (!isTesseraError(error, 'AUDIT_UNAVAILABLE')) throw error;
    // Fail closed. The writer's message names the server's file, which stays in the log.
    context.metrics?.auditFailures.inc();
    request.log.error({ reqId: request.id, reason: error.message }, 'audit write failed');
    throw new TesseraError(
      'AUDIT_UNAVAILABLE',
      'the audit log cannot be written, so the request was refused; the server log has the reason',
    );
  }
}

/** Returns whether the request carries a token, valid or not. */
export function hasToken(request: FastifyRequest): boolean {
  return tokenOf(request) !== undefined;
}

// The auth scheme is case-insensitive (RFC 7235, section 2.1), so `bearer` works too.
const BEARER = /^bearer +(\S+) *$/i;

/** Reads the token from `X-Vault-Token`, else `Authorization: Bearer`. */
function tokenOf(request: FastifyRequest): string | undefined {
  const vaultHeader = request.headers['x-vault-token'];
  if (typeof vaultHeader === 'string' && vaultHeader) return vaultHeader;
  const authorization = request.headers.authorization;
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
}
