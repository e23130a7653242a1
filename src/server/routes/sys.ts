import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../../version.ts';
import type { AppContext } from '../app.ts';

const startedAt = new Date().toISOString();

/**
 * Registers `GET /v1/sys/health` in the shape of Vault's health endpoint. Like Vault, it
 * responds 200 when the server can serve requests and 503 when it cannot: here, when the
 * audit log cannot be written, so every authorised request would fail closed.
 */
export function registerSysRoutes(app: FastifyInstance, context: AppContext) {
  app.get('/v1/sys/health', async (_request, reply) => {
    const audit = context.audit?.health() ?? null;
    const healthy = audit === null || audit.ok;
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
      // A backend that kept its last good version, or cannot reach Vault, still serves
      // what it can, so it is reported here without turning the answer into 503.
      backends: context.mounts?.health() ?? [],
    };
  });
}
