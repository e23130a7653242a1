import { randomUUID } from 'node:crypto';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Access } from '../access/access.ts';
import type { Mounts } from '../backends/mounts.ts';
import { TesseraError } from '../errors.ts';
import type { Rotator } from '../rotation/rotator.ts';
import type { Cluster } from '../store/cluster.ts';
import type { Secrets } from '../store/secrets.ts';
import type { Store } from '../store/store.ts';
import { type AuditSink, auditFailedRequests } from './authorize.ts';
import { registerJsonBodies } from './body.ts';
import { handleClientError, handleError, requestLogLevel } from './errors.ts';
import { checkFailureLimit, type FailureLimiter, requestDeadlineOptions } from './limits.ts';
import type { MesosFollowing } from './mesos-follow.ts';
import { registerMetrics, type ServerMetrics } from './metrics.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { registerKvRoutes } from './routes/kv.ts';
import { registerPolicyRoutes } from './routes/policies.ts';
import { registerRotationRoutes } from './routes/rotation.ts';
import { registerSysRoutes } from './routes/sys.ts';
import { registerTaskLoginRoutes } from './routes/task-login.ts';
import { registerTaskRoutes } from './routes/tasks.ts';
import { registerTesseraRoutes } from './routes/tessera.ts';
import { registerWatchRoutes } from './routes/watch.ts';

/** Dependencies of the HTTP layer, built once at start-up by `startServer`. */
export interface AppContext {
  store: Store;
  secrets: Secrets;
  access: Access;
  /** The audit sink, or null when no audit file is configured. */
  audit: AuditSink | null;
  logger: Logger;
  limits: ServerLimits;
  failures: FailureLimiter;
  /** TLS settings for Node's https server; plain HTTP when absent. */
  https?: HttpsServerOptions;
  /** Read-only backends by path prefix; paths under none of them are in the store. */
  mounts?: Mounts;
  /** The other server processes on the same store, whose changes watch streams also send. */
  cluster?: Cluster;
  /** Runs rotations; without it the rotation policy routes reject every request. */
  rotator?: Rotator;
  /** The view of a Mesos master that task logins rest on. Without it, they fail with TASK_LOGIN_OFF. */
  mesos?: MesosFollowing;
  /** Fastify's `trustProxy`: which proxies may set the client address in X-Forwarded-For. */
  trustProxy?: boolean | string[];
  /** Set by `buildApp`: the metrics that routes update. */
  metrics?: ServerMetrics;
}

/** Size and time limits of the HTTP layer. */
export interface ServerLimits {
  /** Largest total of field bytes in one secret version. */
  maxSecretBytes: number;
  /** Largest request body; derived from maxSecretBytes, since bodies carry base64. */
  bodyLimitBytes: number;
  /** Time a client has to send a whole request; a slower one gets 408. */
  requestTimeoutMs: number;
}

/**
 * The longest `:name` parameter the router matches (Fastify's default is 100). It is well
 * above the 128 characters of a name, so that a longer name reaches the route and gets
 * the name rule. Beyond it, the router rejects the URL with FST_ERR_MAX_PARAM_LENGTH.
 */
const MAX_PARAM_CHARS = 1024;

/** Builds the Fastify app with every route; the caller listens or injects. */
export function buildApp(context: AppContext): FastifyInstance {
  const deadlines = requestDeadlineOptions(context.limits.requestTimeoutMs);
  const app = Fastify({
    loggerInstance: context.logger as FastifyBaseLogger,
    // Request lines are logged by the onResponse hook below, by allow-list.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: context.limits.bodyLimitBytes,
    requestTimeout: context.limits.requestTimeoutMs,
    http: deadlines,
    // An idle socket is closed too. The watch stream turns this off for its own
    // long-lived responses.
    connectionTimeout: context.limits.requestTimeoutMs,
    genReqId: () => randomUUID(),
    // Malformed URLs (`%zz`, `%FF`) get the same error body as any other bad request.
    frameworkErrors: (error, request, reply) => handleError(error, request, reply),
    clientErrorHandler: handleClientError,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: MAX_PARAM_CHARS },
    ...(context.https ? { https: { ...context.https, ...deadlines } } : {}),
    ...(context.trustProxy ? { trustProxy: context.trustProxy } : {}),
  }) as unknown as FastifyInstance;

  registerJsonBodies(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const error = new TesseraError(
      'NOT_FOUND',
      `no route for ${request.method} ${routeOf(request)}`,
    );
    return handleError(error, request, reply);
  });
  app.addHook('onResponse', async (request, reply) => {
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      ...(request.expectedFailure === undefined ? {} : { code: request.expectedFailure }),
    };
    request.log[requestLogLevel(request, reply.statusCode)](line, 'request');
  });

  // A client that has failed to authenticate too often is turned away before any work.
  // Health needs no token, so a load balancer keeps seeing it from a blocked address.
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/v1/sys/health')) return;
    checkFailureLimit(context.failures, request.ip);
  });

  auditFailedRequests(app, context);
  context.metrics = registerMetrics(app, context.store);
  registerSysRoutes(app, context);
  registerKvRoutes(app, context);
  registerTesseraRoutes(app, context);
  registerAuthRoutes(app, context);
  registerTaskLoginRoutes(app, context);
  registerPolicyRoutes(app, context);
  registerWatchRoutes(app, context);
  registerTaskRoutes(app, context);
  registerRotationRoutes(app, context);
  return app;
}

// The path part of the URL, without the query string (it is never logged or echoed).
function routeOf(request: FastifyRequest): string {
  const path = request.url.split('?')[0] ?? '';
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
}
