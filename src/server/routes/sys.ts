import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../../version.ts';
import type { AppContext } from '../app.ts';

const startedAt = new Date().toISOString();

/**
 * Registers `GET /v1/sys/health` in the shape of Vault's health endpoint. Like Vault, it
 * responds 200 when the server can serve requests and 503 when it cannot: here, when the
 * audit log cannot be written, so every authorised request would fail closed, or when
 * the store cannot complete a query, as with a PostgreSQL database that is down.
 */
export function registerSysRoutes(app: FastifyInstance, context: AppContext) {
  app.get('/v1/sys/health', async (request, reply) => {
    const audit = context.audit?.health() ?? null;
    const store = await storeHealth(context);
    if (!store.ok) request.log.warn({ reason: store.reason }, 'health check: store unavailable');
    const healthy = (audit === null || audit.ok) && store.ok;
    reply.code(healthy ? 200 : 503);
    return {
      initialized: true,
      sealed: false,
      standby: false,
      server_time_utc: Math.floor(Date.now() / 1000),
      started_at: startedAt,
      version: packageVersion(),
      cluster_name: 'tessera',
      audit: audit && { ok: audit.ok, reason: audit.reason, failures: audit.failures },
      store,
      // A backend that kept its last good version, or cannot reach Vault, still serves
      // what it can, so it is reported here without turning the answer into 503.
      backends: context.mounts?.health() ?? [],
      // Without the master's view tasks cannot log in, but tokens and secrets still work.
      mesos: context.mesos && {
        following: context.mesos.index.synced,
        ...context.mesos.index.size,
      },
    };
  });
}

/** How long the health check waits for the store's query to complete. */
export const STORE_HEALTH_TIMEOUT_MS = 2000;

// A cheap query; a store that fails it, or takes too long, cannot serve requests.
async function storeHealth(context: AppContext): Promise<{ ok: boolean; reason: string | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), STORE_HEALTH_TIMEOUT_MS);
  });
  try {
    await Promise.race([context.store.countTokens(), timedOut]);
    return { ok: true, reason: null };
  } catch {
    return { ok: false, reason: 'the store did not answer; check the database' };
  } finally {
    clearTimeout(timer);
  }
}
