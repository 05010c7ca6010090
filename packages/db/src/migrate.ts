import { readdir, readFile } from 'node:fs/promises';
import type { Sql } from './client.js';
import { type RetryOptions, withTransaction } from './retry.js';

/** The package's own migrations; resolves the same from `src/` and from `dist/`. */
export const migrationsDirectory = new URL('../migrations/', import.meta.url);

const MIGRATION_FILE = /^(\d{4})_([a-z0-9][a-z0-9_-]*)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
}

export interface MigrateOptions {
  log?: (message: string) => void;
  /** Folder of `NNNN_name.sql` files (default: the package's `migrations/`). */
  directory?: URL;
  /** Retry settings for each migration's transaction. */
  retry?: RetryOptions;
}

export type MigrationErrorCode =
  | 'invalid_migration_file'
  | 'duplicate_migration_version'
  | 'migration_failed';

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  readonly code: MigrationErrorCode;

  constructor(code: MigrationErrorCode, message: string, options?: { cause: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Reads `NNNN_name.sql` files, ordered by version. Other files are ignored; a misnamed `.sql` is an error. */
export async function loadMigrations(directory: URL = migrationsDirectory): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match?.[1] || !match[2]) {
      throw new MigrationError('invalid_migration_file', `${file}: migration files are named NNNN_name.sql`);
    }
    const version = Number(match[1]);
    const previous = migrations.at(-1);
    if (previous?.version === version) {
      throw new MigrationError(
        'duplicate_migration_version',
        `${previous.file} and ${file} share version ${version}`,
      );
    }
    const sql = await readFile(new URL(file, directory), 'utf8');
    migrations.push({ version, name: match[2], file, sql });
  }
  return migrations;
}

/**
 * Applies pending migrations in version order and returns the versions this call applied.
 *
 * Safe to run again and from several hosts at once, without advisory locks (CockroachDB has none):
 * each migration runs in one transaction that first claims its row in `inlet_schema_migrations`
 * with `ON CONFLICT DO NOTHING`. A concurrent runner blocks on that row until the first commits,
 * then claims nothing and skips; on CockroachDB the contention surfaces as 40001 and is retried.
 *
 * A migration file runs as one simple-protocol query, so it may hold several statements
 * (including `;` inside strings or function bodies) but no parameters.
 */
export async function migrate(sql: Sql, options: MigrateOptions = {}): Promise<number[]> {
  const log = options.log ?? (() => {});
  const retry = options.retry ?? {};
  const migrations = await loadMigrations(options.directory);

  await createBookkeepingTable(sql, retry);
  const recorded = await sql<{ version: number | string }[]>`SELECT version FROM inlet_schema_migrations`;
  // INT is 64-bit on CockroachDB, which postgres.js returns as a string.
  const done = new Set(recorded.map((row) => Number(row.version)));

  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    let claimed: boolean;
    try {
      claimed = await withTransaction(
        sql,
        async (tx) => {
          const rows = await tx`
            INSERT INTO inlet_schema_migrations (version, name)
            VALUES (${migration.version}, ${migration.name})
            ON CONFLICT (version) DO NOTHING
            RETURNING version`;
          if (rows.length === 0) return false;
          if (migration.sql.trim() !== '') await tx.unsafe(migration.sql);
          return true;
        },
        retry,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new MigrationError('migration_failed', `${migration.file}: ${reason}`, { cause: error });
    }
    if (claimed) {
      applied.push(migration.version);
      log(`applied migration ${migration.file}`);
    } else {
      log(`migration ${migration.file} was applied by another runner`);
    }
  }
  if (applied.length === 0) log('schema is up to date');
  return applied;
}

async function createBookkeepingTable(sql: Sql, retry: RetryOptions): Promise<void> {
  try {
    await withTransaction(
      sql,
      (tx) => tx`
        CREATE TABLE IF NOT EXISTS inlet_schema_migrations (
          version INT PRIMARY KEY,
          name TEXT NOT NULL,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )`,
      retry,
    );
  } catch (error) {
    // PostgreSQL sessions creating the same table at once: despite IF NOT EXISTS the losers get
    // 23505 (on pg_type's unique index), 42710 (type exists) or 42P07 (relation exists). Each
    // means the table is there now.
    const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
    if (code !== '23505' && code !== '42710' && code !== '42P07') throw error;
  }
}
