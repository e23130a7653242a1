/**
 * The catalogue of Tessera's error codes. Clients and tests match on `code`, never on the
 * message text. docs/errors.md lists every code with its meaning and fix.
 */
export const ERRORS = {
  INVALID_ARGUMENT: { status: 400, summary: 'a request or input field is invalid' },
  INVALID_PATH: { status: 400, summary: 'a secret path breaks the path rules' },
  INVALID_TASK: { status: 400, summary: 'a Mesos TaskInfo or call is invalid' },
  INVALID_SECRETS_FILE: { status: 400, summary: 'a Mesos-style secrets file is invalid' },
  NOT_UTF8: { status: 400, summary: 'a field holds bytes that are not UTF-8 text' },
  CAS_MISMATCH: { status: 400, summary: 'the check-and-set version did not match' },
  BODY_TOO_LARGE: { status: 413, summary: 'the request body or a secret is over the size limit' },
  RATE_LIMITED: { status: 429, summary: 'too many failed authentications from this address' },
  REQUEST_TIMEOUT: { status: 408, summary: 'the client did not send its whole request in time' },
  HEADERS_TOO_LARGE: { status: 431, summary: 'the request headers are over the size limit' },
  TOKEN_MISSING: { status: 401, summary: 'no token was sent' },
  PERMISSION_DENIED: { status: 403, summary: 'the token may not do this, or is invalid' },
  TASK_LOGIN_DENIED: { status: 403, summary: 'a Mesos task may not log in as it asked' },
  TASK_LOGIN_OFF: { status: 404, summary: 'the server does not follow a Mesos master' },
  LAST_ADMIN_TOKEN: { status: 409, summary: 'the change would leave no token to manage access' },
  ROTATION_RUNNING: { status: 409, summary: 'a rotation of the secret is running' },
  NOT_FOUND: { status: 404, summary: 'no secret, version or field exists there' },
  VERSION_DELETED: { status: 404, summary: 'the version is soft-deleted' },
  VERSION_DESTROYED: { status: 404, summary: 'the version is destroyed' },
  READ_ONLY_MOUNT: { status: 405, summary: 'the path is served read-only by a mounted backend' },
  RESOLVE_FAILED: { status: 400, summary: 'one or more secrets of a batch failed to resolve' },
  UNREACHABLE: { status: 503, summary: 'the Tessera server could not be reached' },
  MASTER_UNAVAILABLE: {
    status: 503,
    summary: "the server's view of the Mesos master is not current",
  },
  BACKEND_AUTH_FAILED: { status: 502, summary: "a backend rejected Tessera's own credentials" },
  AUDIT_UNAVAILABLE: { status: 503, summary: 'the audit log cannot be written' },
  CONFIG_INVALID: { status: 500, summary: 'start-up configuration is invalid' },
  DELIVERY_FAILED: { status: 500, summary: 'secrets could not be placed for a task' },
  INTERNAL: { status: 500, summary: 'an unexpected error inside Tessera' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** Structured details a caller can act on; never secret values. */
export type ErrorDetails = Record<string, unknown>;

/** The one error class Tessera raises on purpose; anything else is a bug (INTERNAL). */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(message);
    this.name = 'TesseraError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}

export function isTesseraError(error: unknown, code?: ErrorCode): error is TesseraError {
  return error instanceof TesseraError && (code === undefined || error.code === code);
}

/** Returns the code of an error for a log line, such as PERMISSION_DENIED, and never its message. */
export function errorCode(error: unknown): string {
  return isTesseraError(error) ? error.code : 'unexpected error';
}
