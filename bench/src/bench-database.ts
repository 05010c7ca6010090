import { createSql, migrate, quoteIdentifier, type Sql } from '@inlet/db';

export interface BenchDatabase {
  readonly name: string;
  /** The URL the phases' workers connect to. */
  readonly url: string;
  /** The harness's own client: counts, truncation. */
  readonly sql: Sql;
  /** Empties `webhook_events` and checkpoints, so each phase starts from the same state. */
  reset(): Promise<void>;
  countEvents(): Promise<number>;
  serverVersion(): Promise<string>;
  drop(): Promise<void>;
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A migrated database of the run's own on the server of `serverUrl`, dropped by `drop()`. */
export async function createBenchDatabase(serverUrl: string, name: string): Promise<BenchDatabase> {
  const admin = createSql(withDatabase(serverUrl, 'postgres'), { max: 1, application_name: 'inlet-bench' });
  const dropDatabase = () => admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  await admin.unsafe(`CREATE DATABASE ${quoteIdentifier(name)}`);
  const url = withDatabase(serverUrl, name);
  const sql = createSql(url, { max: 2, application_name: 'inlet-bench' });
  try {
    await migrate(sql);
  } catch (error) {
    await sql.end({ timeout: 5 });
    await dropDatabase().catch(() => {});
    await admin.end({ timeout: 5 });
    throw error;
  }
  return {
    name,
    url,
    sql,
    async reset() {
      await sql`TRUNCATE webhook_events`;
      // A checkpoint now rather than during the next phase; needs a privileged role, so best effort.
      await sql`CHECKPOINT`.catch(() => {});
    },
    async countEvents() {
      const [row] = await sql<{ count: string }[]>`SELECT count(*)::text AS count FROM webhook_events`;
      return Number(row?.count ?? 0);
    },
    async serverVersion() {
      const [row] = await sql<{ server_version: string }[]>`SHOW server_version`;
      return row?.server_version ?? 'unknown';
    },
    async drop() {
      await sql.end({ timeout: 5 });
      await dropDatabase();
      await admin.end({ timeout: 5 });
    },
  };
}
