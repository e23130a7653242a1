import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { z } from 'zod';

import { TesseraError } from '../errors.ts';
import type { Cluster, ClusterListener, ClusterLock, ClusterMessage } from './cluster.ts';
import { maskDatabaseUrl, POSTGRES_CONNECT_TIMEOUT_MS } from './postgres.ts';
import { SECRET_CHANGE_KINDS } from './secrets.ts';

/** The channel of LISTEN and NOTIFY that the replicas of one database share. */
export const CLUSTER_CHANNEL = 'tessera_cluster';

// The first key of Tessera's two-key advisory locks. PostgreSQL keeps two-key locks apart
// from the one-key lock that guards migrations.
const LOCK_CLASS = 0x7e55;

// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
const MAX_PAYLOAD_BYTES = 7900;

/** The wait before the first reconnect of the listening connection, doubled up to the maximum. */
export const RECONNECT_MIN_MS = 500;
export const RECONNECT_MAX_MS = 30_000;

const payloadSchema = z.discriminatedUnion('kind', [
  z.object({
    origin: z.string(),
    kind: z.literal('secret'),
    change: z.object({
      path: z.string(),
      version: z.number().int(),
      kind: z.enum(SECRET_CHANGE_KINDS),
    }),
  }),
  z.object({ origin: z.string(), kind: z.literal('policy'), name: z.string() }),
  z.object({
    origin: z.string(),
    kind: z.literal('task-versions'),
    taskId: z.string(),
    secrets: z.array(z.object({ path: z.string(), version: z.number().int() })),
    ttlSeconds: z.number().int().optional(),
    owner: z.string().optional(),
  }),
  z.object({ origin: z.string(), kind: z.literal('task-ended'), taskId: z.string() }),
]);

/**
 * Opens the cluster of the replicas that share the PostgreSQL database at `url`. Messages
 * travel by NOTIFY on `CLUSTER_CHANNEL`. Locks are session advisory locks, each on its own
 * connection, so that a replica that dies or loses its connection frees them.
 */
export async function openPostgresCluster(url: string, logger: Logger): Promise<Cluster> {
  const cluster = new PostgresCluster(url, logger);
  try {
    await cluster.listen();
  } catch (error) {
    await cluster.close();
    const code = (error as { code?: string }).code ?? 'error';
    throw new TesseraError(
      'CONFIG_INVALID',
      `could not listen for changes on the database ${maskDatabaseUrl(url)} (${code}); ` +
        'check that it is reachable and that the role may connect',
    );
  }
  return cluster;
}

class PostgresCluster implements Cluster {
  readonly #url: string;
  readonly #logger: Logger;
  readonly #origin = randomBytes(8).toString('hex');
  readonly #listeners = new Set<ClusterListener>();
  readonly #locks = new Set<pg.Client>();
  readonly #pool: pg.Pool;
  #client: pg.Client | undefined;
  #retryMs = RECONNECT_MIN_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: 2,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    });
    this.#pool.on('error', () => undefined);
  }

  /** Connects the listening connection; throws when the database cannot be reached. */
  async listen(): Promise<void> {
    const client = this.#connection();
    client.on('notification', (notification) => this.#receive(notification.payload));
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    await client.connect();
    await client.query(`LISTEN ${CLUSTER_CHANNEL}`);
    this.#client = client;
    this.#retryMs = RECONNECT_MIN_MS;
  }

  publish(message: ClusterMessage): void {
    if (message.kind === 'gap' || this.#closed) return;
    const payload = JSON.stringify({ ...message, origin: this.#origin });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      this.#logger.warn(
        { kind: message.kind, bytes: Buffer.byteLength(payload) },
        'a change is too large to send to the other servers; they do not see it',
      );
      return;
    }
    this.#pool.query('SELECT pg_notify($1, $2)', [CLUSTER_CHANNEL, payload]).catch((error) => {
      this.#logger.error(
        { kind: message.kind, code: (error as { code?: string }).code },
        'failed to notify the other servers of a change',
      );
    });
  }

  subscribe(listener: ClusterListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async tryLock(name: string): Promise<ClusterLock | undefined> {
    const client = this.#connection();
    let held = false;
    client.on('error', () => {
      held = false;
    });
    client.on('end', () => {
      held = false;
    });
    await client.connect();
    const { rows } = await client
      .query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [LOCK_CLASS, name])
      .catch(async (error: unknown) => {
        await client.end().catch(() => undefined);
        throw error;
      });
    if (rows[0]?.locked !== true) {
      await client.end().catch(() => undefined);
      return undefined;
    }
    held = true;
    this.#locks.add(client);
    const locks = this.#locks;
    return {
      get held() {
        return held;
      },
      // Ending the session releases its advisory locks.
      async release() {
        held = false;
        locks.delete(client);
        await client.end().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const clients = [this.#client, ...this.#locks];
    this.#client = undefined;
    this.#locks.clear();
    await Promise.all(clients.map((client) => client?.end().catch(() => undefined)));
    await this.#pool.end().catch(() => undefined);
  }

  #connection(): pg.Client {
    return new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    });
  }

  #receive(payload: string | undefined): void {
    const parsed = payloadSchema.safeParse(safeJson(payload));
    if (!parsed.success) {
      this.#logger.warn({ channel: CLUSTER_CHANNEL }, 'ignored a malformed cluster message');
      return;
    }
    const { origin, ...message } = parsed.data;
    if (origin === this.#origin) return;
    this.#deliver(message);
  }

  #deliver(message: ClusterMessage): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        this.#logger.error({ error: (error as Error).name }, 'a cluster listener failed');
      }
    }
  }

  // Messages sent while no connection listens are lost, so the listeners get a gap message
  // once a new connection listens again.
  #lost(client: pg.Client): void {
    if (this.#closed || client !== this.#client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#logger.warn(
      { retryMs: this.#retryMs },
      'lost the database connection that receives changes from other servers; reconnecting',
    );
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
    this.#retryTimer = setTimeout(async () => {
      if (this.#closed) return;
      try {
        await this.listen();
      } catch (error) {
        this.#logger.warn(
          { code: (error as { code?: string }).code, retryMs: this.#retryMs },
          'failed to reconnect to the database for changes from other servers; retrying',
        );
        this.#scheduleReconnect();
        return;
      }
      this.#logger.info('receiving changes from other servers again');
      this.#deliver({ kind: 'gap' });
    }, wait);
    this.#retryTimer.unref();
  }
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}
