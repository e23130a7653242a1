import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isTesseraError, TesseraError } from '../../errors.ts';
import { packageVersion } from '../../version.ts';
import type { AppContext } from '../app.ts';
import { hasToken, requireCapability } from '../authorize.ts';

const startedAt = new Date().toISOString();

/**
 * The resource whose `read` shows health in detail: reasons, mount prefixes and backends,
 * and the numbers of the Mesos view, which can name files, prefixes and hosts.
 */
export const HEALTH_DETAIL_PATH = 'sys/health';

/** The resource whose `read` lets a token scrape `GET /v1/sys/metrics`. */
export const METRICS_PATH = 'sys/metrics';

/**
 * Registers `GET /v1/sys/health` in the shape of Vault's health endpoint, and
 * `GET /v1/sys/metrics`. Like Vault, health responds 200 when the server can serve
 * requests and 503 when it cannot. Here that is when the audit log cannot be written, so
 * every authorised request would fail closed, or when the store cannot complete a query,
 * as with a PostgreSQL database that is down. Health needs no token, but shows only `ok`
 * flags without one. Metrics need `read` on `sys/metrics`.
 */
export function registerSysRoutes(app: FastifyInstance, context: AppContext) {
  app.get('/v1/sys/health', async (request, reply) => {
    const audit = context.audit?.health() ?? null;
    const store = await storeHealth(context);
    if (!store.ok) request.log.warn({ reason: store.reason }, 'health check: store unavailable');
    const healthy = (audit === null || audit.ok) && store.ok;
    reply.code(healthy ? 200 : 503);
    const detailed = await mayReadDetail(request, context);
    return {
      initialized: true,
      sealed: false,
      standby: false,
      server_time_utc: Math.floor(Date.now() / 1000),
      started_at: startedAt,
      version: packageVersion(),
      cluster_name: 'tessera',
      ...(detailed ? detail(context, audit, store) : summary(context, audit, store)),
    };
  });

  app.get('/v1/sys/metrics', async (request, reply) => {
    await requireCapability(request, context, 'read', METRICS_PATH);
    const registry = context.metrics?.registry;
    if (!registry) throw new TesseraError('INTERNAL', 'metrics are not registered');
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

type AuditHealth = ReturnType<NonNullable<AppContext['audit']>['health']> | null;
type StoreHealth = { ok: boolean; reason: string | null };

function detail(context: AppContext, audit: AuditHealth, store: StoreHealth) {
  return {
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
}

// Reasons can name files, mount prefixes, Vault addresses and database errors, so a
// caller without a token gets only whether each part works.
function summary(context: AppContext, audit: AuditHealth, store: StoreHealth) {
  return {
    audit: audit && { ok: audit.ok },
    store: { ok: store.ok },
    backends: (context.mounts?.health() ?? []).map((backend) => ({ ok: backend.ok })),
    mesos: context.mesos && { following: context.mesos.index.synced },
  };
}

/**
 * Returns whether the request carries a token that may read health in detail. Health
 * responds to a blocked address too, so the token of an address that failed to
 * authenticate too often is not checked, because health would otherwise let a guesser
 * test tokens past the limit. A failed check, of the audit log too, leaves the summary.
 */
async function mayReadDetail(request: FastifyRequest, context: AppContext): Promise<boolean> {
  if (!hasToken(request)) return false;
  if (context.failures.retryAfterSeconds(request.ip) > 0) return false;
  try {
    await requireCapability(request, context, 'read', HEALTH_DETAIL_PATH);
    return true;
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    request.log.info({ code: error.code }, 'health check: detail not shown');
    return false;
  }
}

/** How long the health check waits for the store's query to complete. */
export const STORE_HEALTH_TIMEOUT_MS = 2000;

// A cheap query; a store that fails it, or takes too long, cannot serve requests.
async function storeHealth(context: AppContext): Promise<StoreHealth> {
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
