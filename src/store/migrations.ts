import type { DatabaseSync } from 'node:sqlite';
import { TesseraError } from '../errors.ts';

/** One step of the SQLite schema. Versions start at 1 and never change once released. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The SQLite schema, in order. Append a new migration to change it; never edit one that
 * has shipped, because databases already at that version would not see the change.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'secrets, versions and tokens',
    sql: `
      CREATE TABLE secrets (
        path TEXT PRIMARY KEY,
        created_time TEXT NOT NULL,
        updated_time TEXT NOT NULL,
        current_version INTEGER NOT NULL DEFAULT 0,
        oldest_version INTEGER NOT NULL DEFAULT 0,
        max_versions INTEGER NOT NULL DEFAULT 0,
        cas_required INTEGER NOT NULL DEFAULT 0,
        custom_metadata TEXT NOT NULL DEFAULT '{}'
      ) STRICT;

      CREATE TABLE versions (
        path TEXT NOT NULL REFERENCES secrets (path) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        created_time TEXT NOT NULL,
        deletion_time TEXT,
        destroyed INTEGER NOT NULL DEFAULT 0,
        author TEXT NOT NULL,
        kek_id INTEGER,
        wrapped_key BLOB,
        ciphertext BLOB,
        PRIMARY KEY (path, version),
        CHECK ((destroyed = 1) = (ciphertext IS NULL))
      ) STRICT;

      CREATE TABLE tokens (
        accessor TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        policies TEXT NOT NULL,
        created_time TEXT NOT NULL,
        expire_time TEXT,
        meta TEXT NOT NULL,
        parent_accessor TEXT
      ) STRICT;

      CREATE INDEX tokens_parent_accessor ON tokens (parent_accessor);
    `,
  },
  {
    version: 2,
    name: 'token lifetimes and use counts, and policies',
    // Tokens written before this migration keep working: no expiry limit beyond the one
    // they had, unlimited uses, and not renewable.
    sql: `
      ALTER TABLE tokens ADD COLUMN ttl_seconds INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tokens ADD COLUMN max_ttl_seconds INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tokens ADD COLUMN uses_remaining INTEGER
        CHECK (uses_remaining IS NULL OR uses_remaining > 0);
      ALTER TABLE tokens ADD COLUMN renewable INTEGER NOT NULL DEFAULT 0;

      CREATE TABLE policies (
        name TEXT PRIMARY KEY,
        policy TEXT NOT NULL,
        created_time TEXT NOT NULL,
        updated_time TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: 'stage labels and rotation records',
    // Secrets written before this migration keep reading their newest version: it becomes
    // the current stage.
    sql: `
      ALTER TABLE secrets ADD COLUMN current_stage INTEGER;
      ALTER TABLE secrets ADD COLUMN previous_stage INTEGER;
      ALTER TABLE secrets ADD COLUMN pending_stage INTEGER;
      UPDATE secrets SET current_stage = current_version WHERE current_version > 0;

      CREATE TABLE rotations (
        path TEXT PRIMARY KEY REFERENCES secrets (path) ON DELETE CASCADE,
        policy TEXT NOT NULL,
        state TEXT NOT NULL,
        next_run_time TEXT,
        updated_time TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'login roles and Mesos task logins',
    sql: `
      CREATE TABLE login_roles (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        created_time TEXT NOT NULL,
        updated_time TEXT NOT NULL
      ) STRICT;

      CREATE TABLE task_logins (
        framework_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        accessor TEXT NOT NULL,
        login_time TEXT NOT NULL,
        ended_time TEXT,
        PRIMARY KEY (framework_id, task_id)
      ) STRICT;

      CREATE INDEX task_logins_login_time ON task_logins (login_time);
    `,
  },
];

/**
 * Brings a database up to the newest schema inside one transaction, recording each step
 * in `schema_migrations`. Rejects a database whose schema is newer than the last migration
 * here, because an older Tessera could misread it.
 */
export function migrateSqlite(db: DatabaseSync, file: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_time TEXT NOT NULL
      ) STRICT
    `);
    const row = db.prepare('SELECT max(version) AS version FROM schema_migrations').get();
    const applied = Number(row?.version ?? 0);
    const newest = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
    if (applied > newest) {
      throw new TesseraError(
        'CONFIG_INVALID',
        `store ${file} has schema version ${applied}, but this Tessera supports versions up to ` +
          `${newest}; run a Tessera release at least as new as the one that wrote it`,
        { file, applied, newest },
      );
    }

    const record = db.prepare(
      'INSERT INTO schema_migrations (version, name, applied_time) VALUES (?, ?, ?)',
    );
    for (const migration of SQLITE_MIGRATIONS) {
      if (migration.version > applied) {
        db.exec(migration.sql);
        record.run(migration.version, migration.name, new Date().toISOString());
      }
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) {
      db.exec('ROLLBACK');
    }
    throw error;
  }
}
