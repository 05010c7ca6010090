import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from './client.js';
import { loadMigrations, MigrationError, migrate } from './migrate.js';
import { TestDatabase } from './test-database.js';

const databases: TestDatabase[] = [];
const folders: string[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const database = await TestDatabase.create();
  databases.push(database);
  return database;
}

/** A folder of migration files, as a directory URL. */
async function migrationFolder(files: Record<string, string>): Promise<URL> {
  const folder = await mkdtemp(join(tmpdir(), 'inlet-migrations-'));
  folders.push(folder);
  for (const [name, text] of Object.entries(files)) await writeFile(join(folder, name), text);
  return pathToFileURL(`${folder}/`);
}

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

async function recordedVersions(sql: Sql): Promise<{ version: number; name: string }[]> {
  return sql<{ version: number; name: string }[]>`
    SELECT version, name FROM inlet_schema_migrations ORDER BY version`;
}

describe('the package migrations', () => {
  let sql: Sql;
  beforeAll(async () => {
    sql = (await freshDatabase()).connect();
  });

  it('are found beside src/ and dist/', async () => {
    const migrations = await loadMigrations();
    expect(migrations.map(({ version, name, file }) => ({ version, name, file }))).toEqual([
      { version: 1, name: 'webhook_events', file: '0001_webhook_events.sql' },
      { version: 2, name: 'content_sha256', file: '0002_content_sha256.sql' },
      { version: 3, name: 'content_sha256_unique', file: '0003_content_sha256_unique.sql' },
    ]);
  });

  it('create webhook_events as the contract describes', async () => {
    const log: string[] = [];
    expect(await migrate(sql, { log: (message) => log.push(message) })).toEqual([1, 2, 3]);
    expect(log).toEqual([
      'applied migration 0001_webhook_events.sql',
      'applied migration 0002_content_sha256.sql',
      'applied migration 0003_content_sha256_unique.sql',
    ]);
    expect(await recordedVersions(sql)).toEqual([
      { version: 1, name: 'webhook_events' },
      { version: 2, name: 'content_sha256' },
      { version: 3, name: 'content_sha256_unique' },
    ]);

    const columns = await sql<{ column_name: string; data_type: string; is_nullable: string }[]>`
      SELECT column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_name = 'webhook_events' ORDER BY ordinal_position`;
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
      ['id', 'uuid', 'NO'],
      ['source', 'text', 'NO'],
      ['event_id', 'text', 'NO'],
      ['event_type', 'text', 'YES'],
      ['headers', 'jsonb', 'NO'],
      ['body', 'text', 'NO'],
      ['payload', 'jsonb', 'YES'],
      ['received_at', 'timestamp with time zone', 'NO'],
      ['processed_at', 'timestamp with time zone', 'NO'],
      ['content_sha256', 'text', 'YES'],
    ]);

    const indexes = await sql<{ indexname: string; indexdef: string }[]>`
      SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'webhook_events' ORDER BY indexname`;
    const definitions = Object.fromEntries(indexes.map((index) => [index.indexname, index.indexdef]));
    expect(definitions.webhook_events_source_event_id_key).toContain('UNIQUE INDEX');
    expect(definitions.webhook_events_source_event_id_key).toContain('(source, event_id)');
    expect(definitions.webhook_events_source_type_received_idx).toContain(
      '(source, event_type, received_at DESC)',
    );
    expect(definitions.webhook_events_received_id_idx).toContain('(received_at DESC, id)');
    expect(definitions.webhook_events_pkey).toContain('(id)');
    expect(definitions.webhook_events_source_content_sha256_key).toContain('UNIQUE INDEX');
    expect(definitions.webhook_events_source_content_sha256_key).toContain(
      '(source, content_sha256) WHERE (content_sha256 IS NOT NULL)',
    );
  });

  it('do nothing when run again', async () => {
    const log: string[] = [];
    expect(await migrate(sql, { log: (message) => log.push(message) })).toEqual([]);
    expect(log).toEqual(['schema is up to date']);
    expect(await recordedVersions(sql)).toEqual([
      { version: 1, name: 'webhook_events' },
      { version: 2, name: 'content_sha256' },
      { version: 3, name: 'content_sha256_unique' },
    ]);
  });

  it('can be re-run statement by statement', async () => {
    for (const migration of await loadMigrations()) await sql.unsafe(migration.sql);
  });
});

describe('concurrent runners', () => {
  it('two runners at once both succeed and apply each migration once', async () => {
    const database = await freshDatabase();
    const [first, second] = await Promise.all([migrate(database.connect()), migrate(database.connect())]);
    expect([...(first ?? []), ...(second ?? [])].sort()).toEqual([1, 2, 3]);
    expect(await recordedVersions(database.connect())).toEqual([
      { version: 1, name: 'webhook_events' },
      { version: 2, name: 'content_sha256' },
      { version: 3, name: 'content_sha256_unique' },
    ]);
  });

  it('runners racing to create the bookkeeping table all succeed', async () => {
    // PostgreSQL reports this race with one of three error codes; several rounds meet most of them.
    for (let round = 0; round < 5; round++) {
      const database = await freshDatabase();
      const results = await Promise.all(
        Array.from({ length: 6 }, () => migrate(database.connect({ max: 1 }))),
      );
      expect(results.flat().sort()).toEqual([1, 2, 3]);
    }
  }, 30_000);

  it('five runners over three migrations share the work without repeating any', async () => {
    const directory = await migrationFolder({
      '0001_items.sql': 'CREATE TABLE items (id INT PRIMARY KEY);',
      // Not idempotent on purpose: running it twice would fail on the primary key.
      '0002_seed.sql': 'INSERT INTO items (id) VALUES (1);',
      '0003_more.sql': 'INSERT INTO items (id) SELECT id + 1 FROM items;',
    });
    const database = await freshDatabase();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => migrate(database.connect(), { directory })),
    );
    expect(results.flat().sort()).toEqual([1, 2, 3]);
    const sql = database.connect();
    expect((await sql<{ id: number }[]>`SELECT id FROM items ORDER BY id`).map((row) => row.id)).toEqual([
      1, 2,
    ]);
  });
});

describe('migration files', () => {
  it('run in version order, whatever order they are listed in', async () => {
    const directory = await migrationFolder({
      '0010_second.sql': "INSERT INTO notes (text) VALUES ('second; with a semicolon');",
      '0002_first.sql':
        "CREATE TABLE notes (text TEXT NOT NULL);\nINSERT INTO notes (text) VALUES ('first');\n",
      'README.md': 'not a migration',
    });
    const sql = (await freshDatabase()).connect();
    expect(await migrate(sql, { directory })).toEqual([2, 10]);
    const notes = await sql<{ text: string }[]>`SELECT text FROM notes ORDER BY text`;
    expect(notes.map((note) => note.text)).toEqual(['first', 'second; with a semicolon']);
    expect(await recordedVersions(sql)).toEqual([
      { version: 2, name: 'first' },
      { version: 10, name: 'second' },
    ]);
  });

  it('a failing migration leaves no trace and names its file', async () => {
    const directory = await migrationFolder({
      '0001_ok.sql': 'CREATE TABLE kept (id INT);',
      '0002_broken.sql': 'CREATE TABLE half (id INT);\nSELECT no_such_column FROM kept;',
    });
    const sql = (await freshDatabase()).connect();
    const error = await migrate(sql, { directory }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'migration_failed', cause: { code: '42703' } });
    expect(String(error)).toContain('0002_broken.sql');
    expect(await recordedVersions(sql)).toEqual([{ version: 1, name: 'ok' }]);
    const [half] = await sql<{ exists: string | null }[]>`SELECT to_regclass('half')::text AS exists`;
    expect(half?.exists).toBeNull();
  });

  it('a misnamed or duplicate file is refused before anything runs', async () => {
    const misnamed = await migrationFolder({ '1_short.sql': 'SELECT 1;' });
    await expect(loadMigrations(misnamed)).rejects.toMatchObject({ code: 'invalid_migration_file' });
    const duplicate = await migrationFolder({ '0001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 1;' });
    await expect(loadMigrations(duplicate)).rejects.toMatchObject({ code: 'duplicate_migration_version' });
  });
});
