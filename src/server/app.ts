import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { authenticate, type Caller } from '../access/tokens.ts';
import { TesseraError } from '../errors.ts';
import type { Secrets } from '../store/secrets.ts';
import type { Store } from '../store/store.ts';
import { handleError } from './errors.ts';
import { registerKvRoutes } from './routes/kv.ts';
import { registerSysRoutes } from './routes/sys.ts';
import { registerTesseraRoutes } from './routes/tessera.ts';

/** What the HTTP layer needs; built once at start-up by `startServer`. */
export interface AppContext {
  store: Store;
  secrets: Secrets;
  logger: Logger;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** Builds the Fastify app with every route; the caller listens or injects. */
export function buildApp(context: AppContext): FastifyInstance {
  const app = Fastify({
    loggerInstance: context.logger as FastifyBaseLogger,
    // Request lines are logged by the onResponse hook below, by allow-list.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: context.bodyLimitBytes,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: false },
  });

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
      reqId: request.id,
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (reply.statusCode >= 500) request.log.error(line, 'request');
    else request.log.info(line, 'request');
  });

  registerSysRoutes(app);
  registerKvRoutes(app, context);
  registerTesseraRoutes(app, context);
  return app;
}

/** Authenticates the request's token from `X-Vault-Token` or `Authorization: Bearer`. */
export async function callerOf(request: FastifyRequest, store: Store): Promise<Caller> {
  if (request.caller) return request.caller;
  request.caller = await authenticate(store, tokenOf(request));
  return request.caller;
}

function tokenOf(request: FastifyRequest): string | undefined {
  const vaultHeader = request.headers['x-vault-token'];
  if (typeof vaultHeader === 'string' && vaultHeader) return vaultHeader;
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length).trim();
  return undefined;
}

// The path part of the URL, without the query string (it is never logged or echoed).
function routeOf(request: FastifyRequest): string {
  const path = request.url.split('?')[0] ?? '';
  return path.length > 200 ? `${path.slice(0, 200)}...` : path;
}
