import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Access } from '../access/access.ts';
import { createToken, ROOT_POLICY } from '../access/tokens.ts';
import { AuditLog } from '../audit/writer.ts';
import { type MountSpec, openMounts } from '../backends/spec.ts';
import { createKeyringFile, Keyring, loadKeyringFile } from '../crypto/keyring.ts';
import { TesseraError } from '../errors.ts';
import { Rotator } from '../rotation/rotator.ts';
import { RotationScheduler, recoverRotations } from '../rotation/scheduler.ts';
import { maskDatabaseUrl, openPostgresStore } from '../store/postgres.ts';
import { Secrets } from '../store/secrets.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/store.ts';
import { buildApp, type ServerLimits } from './app.ts';
import { type FailureLimit, FailureLimiter } from './limits.ts';
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

export const KEYRING_FILE = 'keyring.json';
export const DATABASE_FILE = 'tessera.db';

/** Opens the store and keyring, creates the root token on first start, and listens. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  checkListenAddress(config.host, config.tls, config.insecureListen ?? false);
  const https = config.tls ? await loadTls(config.tls) : undefined;
  const audit = config.auditFile ? await AuditLog.open({ file: config.auditFile, logger }) : null;
  const mounts = await openMounts(config.mounts ?? [], logger);
  const opened = await (config.dev
    ? openDevStore()
    : openDataDir(requireDataDir(config), config.databaseUrl)
  ).catch(async (error) => {
    await mounts.close();
    throw error;
  });
  const { store, keyring } = opened;

  const rootToken = opened.firstStart
    ? (await createToken(store, { policies: [ROOT_POLICY], meta: { created_by: 'set-up' } })).token
    : undefined;

  // base64 makes a body about 4/3 of the secret it carries.
  const bodyLimitBytes = Math.ceil((config.limits.maxSecretBytes * 4) / 3) + BODY_OVERHEAD_BYTES;
  const secrets = new Secrets(store, keyring);
  const rotator = new Rotator(store, secrets, logger);
  const scheduler = new RotationScheduler({
    store,
    rotator,
    logger,
    tickMs: config.rotationTickMs,
  });
  // NOTE: watch streams see only the writes made through this server process. With several
  // replicas on PostgreSQL, the store would NOTIFY a channel in every write transaction,
  // and each replica would LISTEN on it and feed the events to its watch hub. Until then, a
  // `tessera exec` that follows rotations must reach the replica that wrote the change.
  const app = buildApp({
    store,
    secrets,
    rotator,
    access: new Access(store),
    audit,
    logger,
    limits: { ...config.limits, bodyLimitBytes },
    failures: new FailureLimiter(config.failureLimit),
    https,
    mounts,
  });
  const close = async () => {
    await scheduler.stop();
    await app.close();
    await mounts.close();
    await store.close();
    await audit?.close();
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
  // A rotation that cannot be recovered is logged and left for the operator; the server
  // still serves reads.
  await recoverRotations(store, secrets, rotator, logger).catch((error: unknown) => {
    logger.error({ error: (error as Error).name }, 'rotation recovery failed');
  });
  scheduler.start();
  const reopenAudit = async () => {
    await audit?.reopen();
  };
  return { app, address, rootToken, close, reopenAudit };
}

async function openDevStore() {
  const store = await openSqliteStore(':memory:');
  return { store, keyring: Keyring.generate(), firstStart: true };
}

interface OpenedStore {
  store: Store;
  keyring: Keyring;
  firstStart: boolean;
}

async function openDataDir(dataDir: string, databaseUrl: string | undefined): Promise<OpenedStore> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'CONFIG_INVALID',
      `could not create --data-dir ${dataDir} (${code}); give a directory path`,
    );
  }
  const keyringFile = join(dataDir, KEYRING_FILE);
  if (databaseUrl !== undefined) {
    return openPostgresDataDir(keyringFile, databaseUrl);
  }
  const databaseFile = join(dataDir, DATABASE_FILE);

  if (existsSync(keyringFile)) {
    return {
      store: await openSqliteStore(databaseFile),
      keyring: await loadKeyringFile(keyringFile),
      firstStart: false,
    };
  }
  if (existsSync(databaseFile)) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${databaseFile} exists but its keyring ${keyringFile} is missing, so no secret could be decrypted; restore the keyring file from your backup`,
    );
  }
  const keyring = await createKeyringFile(keyringFile);
  return { store: await openSqliteStore(databaseFile), keyring, firstStart: true };
}

// Every replica on one database needs the same keyring. Only a server that finds the
// database empty creates one, so a replica started without a copy cannot add a second
// keyring and a root token that the other replicas do not have.
async function openPostgresDataDir(keyringFile: string, url: string): Promise<OpenedStore> {
  const store = await openPostgresStore(url);
  try {
    if (existsSync(keyringFile)) {
      return { store, keyring: await loadKeyringFile(keyringFile), firstStart: false };
    }
    const empty = (await store.countTokens()) === 0 && (await store.list('')).length === 0;
    if (!empty) {
      throw new TesseraError(
        'CONFIG_INVALID',
        `the database ${maskDatabaseUrl(url)} already holds secrets or tokens, but ` +
          `${keyringFile} is missing; copy keyring.json from the --data-dir of a server ` +
          'that uses this database',
      );
    }
    // NOTE: two servers started at the same moment on an empty database would each create
    // a keyring and a root token. Start the first replica alone.
    return { store, keyring: await createKeyringFile(keyringFile), firstStart: true };
  } catch (error) {
    await store.close();
    throw error;
  }
}

function requireDataDir(config: ServerConfig): string {
  if (config.dataDir) return config.dataDir;
  throw new TesseraError(
    'CONFIG_INVALID',
    'no --data-dir given; pass --data-dir DIR for a persistent server, or --dev',
  );
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
