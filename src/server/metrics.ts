import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/store.ts';

/** The server's Prometheus metrics, in a registry of its own so that servers do not share. */
export interface ServerMetrics {
  registry: Registry;
  auditFailures: Counter;
  taskLogins: Counter<'outcome'>;
}

/** Registers request metrics; `GET /v1/sys/metrics` (in sys.ts) serves them as Prometheus text. */
export function registerMetrics(app: FastifyInstance, store: Store): ServerMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests by route pattern and status code',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const auditFailures = new Counter({
    name: 'tessera_audit_failures_total',
    help: 'requests refused because the audit log could not be written',
    registers: [registry],
  });
  const taskLogins = new Counter({
    name: 'tessera_task_logins_total',
    help: 'Mesos task logins by outcome (allowed, denied)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'tessera_tokens_alive',
    help: 'tokens in the store, expired ones not yet removed included',
    registers: [registry],
    async collect() {
      this.set(await store.countTokens());
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the URL: paths and query strings stay out of metrics.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: reply.statusCode });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  return { registry, auditFailures, taskLogins };
}
