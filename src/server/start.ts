import { chmod, writeFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Access } from '../access/access.ts';
import { shareAdminLock } from '../access/lockout.ts';
import { startTokenTidy } from '../access/tidy.ts';
import { AuditLog } from '../audit/writer.ts';
import type { Mounts } from '../backends/mounts.ts';
import { type MountSpec, openMounts } from '../backends/spec.ts';
import { TesseraError } from '../errors.ts';
import { Rotator } from '../rotation/rotator.ts';
import { RotationScheduler } from '../rotation/scheduler.ts';
import { maskDatabaseUrl } from '../store/postgres.ts';
import { Secrets } from '../store/secrets.ts';
import { buildApp, type ServerLimits } from './app.ts';
import { lockDataDir, type OpenedStore, openStore } from './data-dir.ts';
import { type InstanceLock, lockAuditFile } from './instance-lock.ts';
import { type FailureLimit, FailureLimiter } from './limits.ts';
import { followMesos, type MesosFollowConfig } from './mesos-follow.ts';
import { checkListenAddress, loadTls, type TlsFiles } from './transport.ts';

/** Server settings, validated by the CLI before they reach here. */
export interface ServerConfig {
  /** In-memory store and a fresh key; nothing survives a stop. */
  dev: boolean;
  /** Directory of the persistent store and keyring (not with `dev`). */
  dataDir?: string;
  /**
   * A PostgreSQL connection URL: the store lives there instead of in `dataDir`, which then
   * holds only the keyring. Several servers may share one database.
   */
  databaseUrl?: string;
  host: string;
  port: number;
  /** Serve HTTPS with these files; required off loopback unless `insecureListen`. */
  tls?: TlsFiles;
  insecureListen?: boolean;
  /** Append-only, hash-chained audit log; requests fail closed when it cannot be written. */
  auditFile?: string;
  limits: Omit<ServerLimits, 'bodyLimitBytes'>;
  failureLimit: FailureLimit;
  /** With `dev`: a file to write the root token to, mode 0600. */
  devTokenFile?: string;
  /** Read-only backends, each served at its path prefix. */
  mounts?: MountSpec[];
  /** How often the rotation scheduler looks for due rotations, in milliseconds. */
  rotationTickMs?: number;
  /** How often expired tokens are removed from the store, in milliseconds. */
  tokenTidyMs?: number;
  /** Follow a Mesos master, so that its tasks can log in. */
  mesos?: MesosFollowConfig;
  /** Fastify's `trustProxy`: the proxies whose X-Forwarded-For gives the client address. */
  trustProxy?: boolean | string[];
}

/** The server's defaults, one place for each limit and its unit. */
export const SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8210,
  maxSecretBytes: 1024 * 1024,
  requestTimeoutMs: 30_000,
  failureLimit: { maxFailures: 20, windowMs: 60_000 },
} as const;

/** Room for JSON framing around a base64 body: a batch may carry many small secrets. */
const BODY_OVERHEAD_BYTES = 1024 * 1024;

/** A running server. */
export interface RunningServer {
  app: FastifyInstance;
  address: string;
  /** The root token, present only when this start created it. */
  rootToken?: string;
  close(): Promise<void>;
  /** Reopens the audit file after external log rotation; does nothing without one. */
  reopenAudit(): Promise<void>;
}

/** Opens the store and keyring, creates the root token on first start, and listens. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  checkListenAddress(config.host, config.tls, config.insecureListen ?? false);
  const https = config.tls ? await loadTls(config.tls) : undefined;
  const locks = await lockServerFiles(config);
  let audit: AuditLog | null = null;
  let mounts: Mounts | undefined;
  let opened: OpenedStore;
  try {
    audit = config.auditFile ? await AuditLog.open({ file: config.auditFile, logger }) : null;
    mounts = await openMounts(config.mounts ?? [], logger);
    opened = await openStore(config, logger);
  } catch (error) {
    await mounts?.close();
    await audit?.close();
    locks.release();
    throw error;
  }
  const { store, keyring, cluster, rootToken } = opened;

  // base64 makes a body about 4/3 of the secret it carries.
  const bodyLimitBytes = Math.ceil((config.limits.maxSecretBytes * 4) / 3) + BODY_OVERHEAD_BYTES;
  const secrets = new Secrets(store, keyring);
  shareAdminLock(store, cluster);
  // The other replicas on the same database send these changes to their watch streams.
  secrets.onChange((change) => cluster.publish({ kind: 'secret', change }));
  const rotator = new Rotator(store, secrets, logger, cluster);
  const scheduler = new RotationScheduler(
    { store, secrets, rotator, cluster, logger },
    config.rotationTickMs,
  );
  const mesos = config.mesos ? followMesos(config.mesos, store, logger) : undefined;
  const app = buildApp({
    store,
    secrets,
    rotator,
    cluster,
    access: new Access(store, cluster),
    audit,
    logger,
    limits: { ...config.limits, bodyLimitBytes },
    failures: new FailureLimiter(config.failureLimit),
    https,
    mounts,
    mesos,
    trustProxy: config.trustProxy,
  });
  let stopTidy: (() => Promise<void>) | undefined;
  const close = async () => {
    await mesos?.stop();
    await stopTidy?.();
    await scheduler.stop();
    await app.close();
    await mounts.close();
    await cluster.close();
    await store.close();
    await audit?.close();
    locks.release();
    logger.info('server stopped');
  };
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await close();
    throw listenError(error, config);
  }

  // Only a server that listens may replace the token file: a second development server
  // that failed to start must not break the CLI for the one already running.
  if (rootToken && config.devTokenFile) {
    await writeTokenFile(config.devTokenFile, rootToken).catch(async (error) => {
      await close();
      throw error;
    });
  }

  const port = (app.server.address() as { port: number }).port;
  const address = `${https ? 'https' : 'http'}://${formatHost(config.host)}:${port}`;
  const database = config.databaseUrl ? maskDatabaseUrl(config.databaseUrl) : undefined;
  logger.info(
    { address, dev: config.dev, tls: Boolean(https), audit: Boolean(audit), database },
    'server started',
  );
  rotator.address = address;
  // The first tick recovers rotations that a crash interrupted, before the server returns.
  await scheduler.start();
  stopTidy = startTokenTidy(store, logger, config.tokenTidyMs);
  const reopenAudit = async () => {
    await audit?.reopen();
  };
  return { app, address, rootToken, close, reopenAudit };
}

// The data directory first, so that a second server on both names the directory.
async function lockServerFiles(config: ServerConfig): Promise<InstanceLock> {
  const dataDir = await lockDataDir(config);
  try {
    const auditFile = config.auditFile ? await lockAuditFile(config.auditFile) : undefined;
    return {
      release: () => {
        auditFile?.release();
        dataDir?.release();
      },
    };
  } catch (error) {
    dataDir?.release();
    throw error;
  }
}

async function writeTokenFile(file: string, token: string) {
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'CONFIG_INVALID',
      `could not write the token file ${file} (${code}); set TESSERA_TOKEN_FILE to a writable path`,
    );
  }
  // The mode above applies only when the file is created; a file left by an earlier run
  // may have been loosened since.
  await chmod(file, 0o600);
}

function listenError(error: unknown, config: ServerConfig): TesseraError {
  const code = (error as { code?: string }).code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') {
    return new TesseraError(
      'CONFIG_INVALID',
      `${where} is already in use; stop the other server or pass --port`,
    );
  }
  return new TesseraError(
    'CONFIG_INVALID',
    `could not listen on ${where} (${code ?? 'unknown error'}); check --host and --port`,
  );
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
