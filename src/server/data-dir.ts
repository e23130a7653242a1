import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

import { createToken, ROOT_POLICY } from '../access/tokens.ts';
import { createKeyringFile, Keyring, loadKeyringFile } from '../crypto/keyring.ts';
import { TesseraError } from '../errors.ts';
import { type Cluster, LocalCluster, waitForLock } from '../store/cluster.ts';
import { maskDatabaseUrl, openPostgresStore } from '../store/postgres.ts';
import { openPostgresCluster } from '../store/postgres-cluster.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/store.ts';
import { acquireInstanceLock, type InstanceLock } from './instance-lock.ts';
import { checkKeyringOpensStore } from './keyring-check.ts';

export const KEYRING_FILE = 'keyring.json';
export const DATABASE_FILE = 'tessera.db';
/** The lock file that the server on a SQLite data directory holds while it runs. */
export const LOCK_FILE = 'server.lock';

/** The cluster lock that a replica holds while it looks for, or creates, the keyring. */
export const FIRST_START_LOCK = 'first-start';

/** How long a replica waits for another one to finish creating the keyring. */
export const FIRST_START_WAIT_MS = 30_000;

/** The store, keyring and cluster a server runs on, and the root token if it created one. */
export interface OpenedStore {
  store: Store;
  keyring: Keyring;
  cluster: Cluster;
  rootToken?: string;
}

/** The settings of `startServer` that choose where the data is kept. */
export interface DataDirConfig {
  dev: boolean;
  dataDir?: string;
  databaseUrl?: string;
}

/**
 * Opens the store: in memory with `dev`, else SQLite in the data directory or PostgreSQL
 * at the database URL, with the keyring in the data directory. The first start creates
 * the keyring and the root token.
 */
export async function openStore(config: DataDirConfig, logger: Logger): Promise<OpenedStore> {
  if (config.dev) {
    const store = await openSqliteStore(':memory:');
    return withRootToken({ store, keyring: Keyring.generate(), cluster: new LocalCluster() });
  }
  const dataDir = requireDataDir(config);
  await createDataDir(dataDir);
  const keyringFile = join(dataDir, KEYRING_FILE);
  if (config.databaseUrl !== undefined) {
    return openPostgresDataDir(keyringFile, config.databaseUrl, logger);
  }
  return openSqliteDataDir(keyringFile, join(dataDir, DATABASE_FILE));
}

/**
 * Locks the data directory of a SQLite store, so that a second server on it stops at start
 * rather than write the same database and run the same rotations. Replicas on
 * PostgreSQL may share a data directory, since they only read the keyring there.
 */
export async function lockDataDir(config: DataDirConfig): Promise<InstanceLock | undefined> {
  if (config.dev || config.databaseUrl !== undefined) return undefined;
  const dataDir = requireDataDir(config);
  await createDataDir(dataDir);
  return acquireInstanceLock(join(dataDir, LOCK_FILE), {
    description: `the data directory ${dataDir}`,
    flag: '--data-dir',
  });
}

async function createDataDir(dataDir: string): Promise<void> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new TesseraError(
      'CONFIG_INVALID',
      `could not create --data-dir ${dataDir} (${code}); give a directory path`,
    );
  }
}

async function openSqliteDataDir(keyringFile: string, databaseFile: string): Promise<OpenedStore> {
  const cluster = new LocalCluster();
  if (existsSync(keyringFile)) {
    const keyring = await loadKeyringFile(keyringFile);
    const store = await openSqliteStore(databaseFile);
    await checkKeyringOpensStore(store, keyring, keyringFile).catch(async (error) => {
      await store.close();
      throw error;
    });
    return { store, keyring, cluster };
  }
  if (existsSync(databaseFile)) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${databaseFile} exists but its keyring ${keyringFile} is missing, so no secret could be decrypted; restore the keyring file from your backup`,
    );
  }
  const keyring = await createKeyringFile(keyringFile);
  return withRootToken({ store: await openSqliteStore(databaseFile), keyring, cluster });
}

// Every replica on one database needs the same keyring. Only a server that finds the
// database empty creates one, so a replica started without a copy cannot add a second
// keyring and a root token that the other replicas do not have. The first-start lock
// keeps two replicas started at once from both finding the database empty.
async function openPostgresDataDir(
  keyringFile: string,
  url: string,
  logger: Logger,
): Promise<OpenedStore> {
  const store = await openPostgresStore(url);
  let cluster: Cluster | undefined;
  try {
    cluster = await openPostgresCluster(url, logger);
    const lock = await waitForLock(
      cluster,
      FIRST_START_LOCK,
      FIRST_START_WAIT_MS,
      () =>
        new TesseraError(
          'CONFIG_INVALID',
          `timed out after ${FIRST_START_WAIT_MS / 1000} s waiting for another server on the ` +
            `database ${maskDatabaseUrl(url)} to finish starting; check that server's log, ` +
            'then start this one again',
        ),
    );
    try {
      if (existsSync(keyringFile)) {
        const keyring = await loadKeyringFile(keyringFile);
        await checkKeyringOpensStore(store, keyring, keyringFile);
        return { store, keyring, cluster };
      }
      await requireEmpty(store, keyringFile, url);
      return await withRootToken({ store, keyring: await createKeyringFile(keyringFile), cluster });
    } finally {
      await lock.release();
    }
  } catch (error) {
    await cluster?.close();
    await store.close();
    throw error;
  }
}

async function requireEmpty(store: Store, keyringFile: string, url: string): Promise<void> {
  const empty = (await store.countTokens()) === 0 && (await store.list('')).length === 0;
  if (empty) return;
  throw new TesseraError(
    'CONFIG_INVALID',
    `the database ${maskDatabaseUrl(url)} already holds secrets or tokens, but ` +
      `${keyringFile} is missing; copy keyring.json from the --data-dir of a server ` +
      'that uses this database',
  );
}

async function withRootToken(opened: OpenedStore): Promise<OpenedStore> {
  const created = await createToken(opened.store, {
    policies: [ROOT_POLICY],
    meta: { created_by: 'set-up' },
  });
  return { ...opened, rootToken: created.token };
}

function requireDataDir(config: DataDirConfig): string {
  if (config.dataDir) return config.dataDir;
  throw new TesseraError(
    'CONFIG_INVALID',
    'no --data-dir given; pass --data-dir DIR for a persistent server, or --dev',
  );
}
