import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import { type Caller, isExpired } from '../../access/tokens.ts';
import { TesseraError } from '../../errors.ts';
import { parseSecretPath } from '../../store/path.ts';
import type { AppContext } from '../app.ts';
import { requireCapability } from '../authorize.ts';
import { ChangeHub, type HubEvent } from '../events.ts';

/** Time between comment lines that keep an idle stream open through proxies. */
export const HEARTBEAT_MS = 15_000;

/** Most paths one stream may watch. */
export const MAX_WATCH_PATHS = 256;

/**
 * Registers `GET /v1/tessera/watch?path=P&path=Q`: server-sent events of version changes
 * of the given secrets, never their values. Each path needs the `read` capability, so the
 * audit log records the subscription. A client that reconnects with `Last-Event-ID` gets
 * the changes it missed, or a `reset` event when they are no longer known.
 */
export function registerWatchRoutes(app: FastifyInstance, context: AppContext): void {
  const hub = new ChangeHub(context.secrets, context.cluster);
  const open = new Set<ServerResponse>();
  // Open streams would keep `close()` waiting for ever, so they are ended first.
  app.addHook('preClose', async () => {
    for (const response of open) response.end();
  });

  app.get('/v1/tessera/watch', async (request, reply) => {
    const paths = watchedPaths(request);
    let caller: Caller | undefined;
    for (const path of paths) {
      caller = await requireCapability(request, context, 'read', path, {
        operation: 'secret.watch',
      });
    }
    const stillAllowed = () => mayStillRead(context, (caller as Caller).accessor, paths);

    reply.hijack();
    // A stream stays open for as long as the task runs; its heartbeats keep it alive.
    request.raw.socket.setTimeout(0);
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    open.add(response);

    const wanted = new Set(paths);
    // Writes go through one chain, so that they keep their order around the checks.
    let chain = Promise.resolve();
    const write = (text: string, check: boolean): void => {
      chain = chain
        .then(async () => {
          if (response.writableEnded) return;
          if (check && !(await stillAllowed())) {
            request.log.info(
              { accessor: (caller as Caller).accessor },
              'watch stream ended: no longer allowed',
            );
            response.end();
            return;
          }
          response.write(text);
        })
        .catch(() => {
          response.end();
        });
    };
    const send = (event: HubEvent): void => {
      if (event.kind === 'reset') {
        write(`id: ${event.id}\nevent: reset\ndata: {}\n\n`, true);
        return;
      }
      if (!wanted.has(event.path)) return;
      const data = { path: event.path, version: event.version, kind: event.kind };
      write(`id: ${event.id}\nevent: change\ndata: ${JSON.stringify(data)}\n\n`, true);
    };
    // Replay and subscription happen in one synchronous step, so no change falls between.
    const lastEventId = request.headers['last-event-id'];
    const replay =
      typeof lastEventId === 'string' ? hub.replaySince(lastEventId) : { kind: 'fresh' as const };
    const unsubscribe = hub.subscribe(send);
    if (replay.kind === 'events') {
      for (const event of replay.events) send(event);
    }
    const opening = replay.kind === 'reset' ? 'reset' : 'ready';
    write(`id: ${hub.lastId}\nevent: ${opening}\ndata: {}\n\n`, false);

    // Each heartbeat also checks the token, so that a revoked one loses its stream.
    const heartbeat = setInterval(() => write(': heartbeat\n\n', true), HEARTBEAT_MS);
    heartbeat.unref();
    response.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(response);
    });
  });
}

// A stream outlives the request that opened it, so the token and its policies are checked
// again before events. The check reads the token without spending a use.
async function mayStillRead(
  context: AppContext,
  accessor: string,
  paths: string[],
): Promise<boolean> {
  const record = await context.store.findTokenByAccessor(accessor);
  if (record === undefined || isExpired(record)) return false;
  for (const path of paths) {
    if (!(await context.access.decide(record, 'read', path)).allowed) return false;
  }
  return true;
}

function watchedPaths(request: FastifyRequest): string[] {
  const raw = (request.query as { path?: string | string[] }).path;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      'give at least one secret to watch, as ?path=P (repeat it for more)',
    );
  }
  if (list.length > MAX_WATCH_PATHS) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `a watch may name at most ${MAX_WATCH_PATHS} paths, not ${list.length}; split it`,
      { count: list.length },
    );
  }
  return [...new Set(list.map((path) => parseSecretPath(path)))];
}
