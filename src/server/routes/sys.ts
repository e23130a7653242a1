import type { FastifyInstance } from 'fastify';
import { packageVersion } from '../../version.ts';

const startedAt = new Date().toISOString();

/** Registers `GET /v1/sys/health`, in the shape Vault's health endpoint uses. */
export function registerSysRoutes(app: FastifyInstance) {
  app.get('/v1/sys/health', async () => ({
    initialized: true,
    sealed: false,
    standby: false,
    server_time_utc: Math.floor(Date.now() / 1000),
    started_at: startedAt,
    version: packageVersion(),
    cluster_name: 'tessera',
  }));
}
