import { randomUUID } from 'node:crypto';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode, TesseraError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The code of a failure in EXPECTED_FAILURES that the response reports. */
    expectedFailure?: ErrorCode;
  }
}

// Failures with a 5xx status that the server expects and recovers from by itself. The
// follower of the master's event stream logs a lost stream at warn and retries, so a task
// login refused meanwhile gets one request line at warn, without the stack of an error.
const EXPECTED_FAILURES: ReadonlySet<ErrorCode> = new Set(['MASTER_UNAVAILABLE']);

/** The JSON body of every error response: Vault's `errors` array plus a stable code. */
export interface ErrorBody {
  errors: string[];
  code: ErrorCode;
  message: string;
  request_id: string;
  details?: Record<string, unknown>;
}

// Fastify's own 4xx errors, mapped to catalogue codes with fixed messages. Their original
// messages can quote the request body (JSON.parse does), which may hold a secret.
const FASTIFY_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'INVALID_ARGUMENT',
    message: 'request body is not valid JSON',
  },
  FST_ERR_BAD_URL: {
    code: 'INVALID_PATH',
    message: 'the request URL is malformed; percent-encode it as UTF-8 (for example %2F)',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'INVALID_ARGUMENT',
    message: 'request body is empty; send a JSON object',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'BODY_TOO_LARGE',
    message: 'request body is over the size limit',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'INVALID_ARGUMENT',
    message: 'request Content-Length does not match the body',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'INVALID_ARGUMENT',
    message:
      "a name in the URL is over 1024 characters; policy and login role names are 1 to 128 lowercase letters, digits, '-' or '_'",
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'INVALID_ARGUMENT',
    message: 'unsupported content type; send application/json',
  },
};

/** Turns any error into a catalogue error that is safe to show a caller. */
export function toTesseraError(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;

  const fastifyCode = (error as FastifyError | undefined)?.code;
  const known = fastifyCode ? FASTIFY_ERRORS[fastifyCode] : undefined;
  if (known) return new TesseraError(known.code, known.message);

  if (error instanceof SyntaxError) {
    return new TesseraError(
      'INVALID_ARGUMENT',
      'request body is not valid JSON, or has a key named __proto__ or constructor',
    );
  }
  return new TesseraError('INTERNAL', 'internal error; the server log has the detail');
}

// Says the size limit that a too-large body broke, so the caller knows what to change.
function withLimit(error: TesseraError, request: FastifyRequest): TesseraError {
  if (error.code !== 'BODY_TOO_LARGE' || error.details) return error;
  const limit = request.routeOptions.bodyLimit;
  return new TesseraError(
    'BODY_TOO_LARGE',
    `request body is over the limit of ${limit} bytes; split a batch, or raise --max-secret-bytes on the server`,
    { limit },
  );
}

/** Builds the error body. A 5xx body gives few details, because the log holds the cause. */
export function errorBody(error: TesseraError, requestId: string): ErrorBody {
  const body: ErrorBody = {
    errors: [error.message],
    code: error.code,
    message: error.message,
    request_id: requestId,
  };
  if (error.details && ERRORS[error.code].status < 500) body.details = error.details;
  return body;
}

/**
 * Sends the error response for an error that Node's HTTP parser or its request timeout
 * raised before Fastify made a request of it (Fastify's `clientErrorHandler`). The body
 * is the one of every other error, with a request id of its own. Vault's `LIST` verb ends
 * here, because the parser rejects methods it does not know.
 */
export function handleClientError(
  this: FastifyInstance,
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  // A reset connection has no client left to respond to.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const mapped = clientError(error.code);
  const requestId = randomUUID();
  this.log.info({ reqId: requestId, code: error.code, status: mapped.status }, 'client error');
  if (socket.writable && socket.bytesWritten === 0) {
    const body = JSON.stringify(errorBody(mapped, requestId));
    socket.write(
      `HTTP/1.1 ${mapped.status} ${STATUS_CODES[mapped.status]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function clientError(code: string | undefined): TesseraError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new TesseraError(
      'REQUEST_TIMEOUT',
      'the request was not received in full within the time limit; send it faster, or raise --request-timeout on the server',
    );
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new TesseraError(
      'HEADERS_TOO_LARGE',
      `the request headers are over the limit of ${maxHeaderSize} bytes; send shorter headers`,
    );
  }
  if (code === 'HPE_INVALID_METHOD') {
    return new TesseraError(
      'INVALID_ARGUMENT',
      'the HTTP method is not supported; list with GET and ?list=true instead of LIST (node-vault: noCustomHTTPVerbs: true)',
    );
  }
  return new TesseraError('INVALID_ARGUMENT', 'the request is not valid HTTP/1.1');
}

/** Turns a thrown error into an HTTP response; the app's only error handler. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const mapped = withLimit(toTesseraError(error), request);
  if (EXPECTED_FAILURES.has(mapped.code)) {
    request.expectedFailure = mapped.code;
  } else if (mapped.status >= 500) {
    request.log.error({ err: safeErrorSummary(error), code: mapped.code }, 'request failed');
  }
  const retryAfter = mapped.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  return reply.code(mapped.status).send(errorBody(mapped, request.id));
}

/**
 * Returns the level of a request's log line: info below 500, warn for an expected
 * failure, such as MASTER_UNAVAILABLE, and error for any other 5xx.
 */
export function requestLogLevel(
  request: FastifyRequest,
  status: number,
): 'info' | 'warn' | 'error' {
  if (request.expectedFailure !== undefined) return 'warn';
  return status >= 500 ? 'error' : 'info';
}

// Logs the class and stack of an unexpected error; a message from a library may quote its
// input, so only the name and stack frames below the first line are kept.
function safeErrorSummary(error: unknown) {
  if (!(error instanceof Error)) return { type: typeof error };
  const frames = (error.stack ?? '').split('\n').slice(1).join('\n');
  return { type: error.name, code: (error as FastifyError).code, stack: frames };
}
