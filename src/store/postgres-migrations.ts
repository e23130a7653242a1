import type { PoolClient } from 'pg';
import { TesseraError } from '../errors.ts';
import type { Migration } from './migrations.ts';

/**
 * The PostgreSQL schema, in order. It stores the same data as the SQLite schema at its
 * newest version. Append a new migration to change it, and never edit one that has shipped.
 *
 * Paths, accessors and policy names use the "C" collation, so that PostgreSQL compares and
 * sorts them by UTF-8 bytes whatever the database's default collation is, as the Store
 * interface requires of `list` and of every sorted listing.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'secrets, versions, stage labels, rotations, tokens and policies',
    sql: `
      CREATE TABLE secrets (
        path text COLLATE "C" PRIMARY KEY,
        created_time timestamptz NOT NULL,
        updated_time timestamptz NOT NULL,
        current_version integer NOT NULL DEFAULT 0,
        oldest_version integer NOT NULL DEFAULT 0,
        max_versions integer NOT NULL DEFAULT 0,
        cas_required boolean NOT NULL DEFAULT false,
        custom_metadata jsonb NOT NULL DEFAULT '{}',
        current_stage integer,
        previous_stage integer,
        pending_stage integer
      );

      CREATE TABLE versions (
        path text COLLATE "C" NOT NULL REFERENCES secrets (path) ON DELETE CASCADE,
        version integer NOT NULL,
        created_time timestamptz NOT NULL,
        deletion_time timestamptz,
        destroyed boolean NOT NULL DEFAULT false,
        author text NOT NULL,
        kek_id integer,
        wrapped_key bytea,
        ciphertext bytea,
        PRIMARY KEY (path, version),
        CHECK (destroyed = (ciphertext IS NULL))
      );

      CREATE TABLE rotations (
        path text COLLATE "C" PRIMARY KEY REFERENCES secrets (path) ON DELETE CASCADE,
        policy text NOT NULL,
        state text NOT NULL,
        next_run_time timestamptz,
        updated_time timestamptz NOT NULL
      );

      CREATE TABLE tokens (
        accessor text COLLATE "C" PRIMARY KEY,
        hash text NOT NULL UNIQUE,
        policies jsonb NOT NULL,
        created_time timestamptz NOT NULL,
        expire_time timestamptz,
        meta jsonb NOT NULL,
        parent_accessor text COLLATE "C",
        ttl_seconds integer NOT NULL DEFAULT 0,
        max_ttl_seconds integer NOT NULL DEFAULT 0,
        uses_remaining integer CHECK (uses_remaining IS NULL OR uses_remaining > 0),
        renewable boolean NOT NULL DEFAULT false
      );

      CREATE INDEX tokens_parent_accessor ON tokens (parent_accessor);

      CREATE TABLE policies (
        name text COLLATE "C" PRIMARY KEY,
        policy text NOT NULL,
        created_time timestamptz NOT NULL,
        updated_time timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'login roles and Mesos task logins',
    sql: `
      CREATE TABLE login_roles (
        name text COLLATE "C" PRIMARY KEY,
        role text NOT NULL,
        created_time timestamptz NOT NULL,
        updated_time timestamptz NOT NULL
      );

      CREATE TABLE task_logins (
        framework_id text COLLATE "C" NOT NULL,
        task_id text COLLATE "C" NOT NULL,
        accessor text COLLATE "C" NOT NULL,
        login_time timestamptz NOT NULL,
        ended_time timestamptz,
        PRIMARY KEY (framework_id, task_id)
      );

      CREATE INDEX task_logins_login_time ON task_logins (login_time);
    `,
  },
];

// The key of the transaction-level advisory lock that migrations hold, so that replicas
// starting together apply each migration once. It is an arbitrary constant, which only
// needs to differ from other advisory lock keys used in the same database.
const MIGRATION_LOCK_KEY = 0x7e55e4a;

/**
 * Brings a database up to the newest schema inside one transaction, recording each step
 * in `schema_migrations`. Rejects a database whose schema is newer than the last migration
 * here, because an older Tessera could misread it. `where` names the database in messages,
 * with its password masked.
 */
export async function migratePostgres(client: PoolClient, where: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_time timestamptz NOT NULL
      )`);
    const result = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM schema_migrations',
    );
    const applied = result.rows[0]?.version ?? 0;
    checkNotNewer(applied, where);

    for (const migration of POSTGRES_MIGRATIONS) {
      if (migration.version > applied) {
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO schema_migrations (version, name, applied_time) VALUES ($1, $2, now())',
          [migration.version, migration.name],
        );
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function checkNotNewer(applied: number, where: string): void {
  const newest = POSTGRES_MIGRATIONS.at(-1)?.version ?? 0;
  if (applied > newest) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `database ${where} has schema version ${applied}, but this Tessera supports versions up ` +
        `to ${newest}; run a Tessera release at least as new as the one that wrote it`,
      { database: where, applied, newest },
    );
  }
}
