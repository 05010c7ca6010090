import { createSql, migrate, quoteIdentifier, type Sql } from '@inlet/db';
import { type CpuSource, postgresCpu } from './cpu-meter.js';

/** Lag from 202 (`received_at`, ingest's clock) to committed row (`processed_at`, the transaction's `now()`). */
export interface LagSummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface BenchDatabase {
  readonly name: string;
  /** The URL the phases' workers connect to. */
  readonly url: string;
  /** The harness's own client: counts, truncation. */
  readonly sql: Sql;
  /** Empties `webhook_events` and checkpoints, so each phase starts from the same state. */
  reset(): Promise<void>;
  countEvents(): Promise<number>;
  /** Over the rows received at or after `since`. */
  lagSince(since: Date): Promise<LagSummary>;
  /** The server's CPU when it runs on this machine, else null. */
  cpuSource(): Promise<CpuSource | null>;
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
    async lagSince(since) {
      const [row] = await sql<
        { count: number; p50: number | null; p99: number | null; max: number | null }[]
      >`
        SELECT count(*)::int AS count,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99,
               max(lag) AS max
        FROM (
          SELECT (extract(epoch FROM processed_at - received_at) * 1000)::float8 AS lag
          FROM webhook_events WHERE received_at >= ${since}
        ) AS lags`;
      const round = (ms: number | null | undefined) =>
        ms === null || ms === undefined ? null : Math.round(ms);
      return {
        count: row?.count ?? 0,
        p50Ms: round(row?.p50),
        p99Ms: round(row?.p99),
        maxMs: round(row?.max),
      };
    },
    cpuSource() {
      return postgresCpu(sql).catch(() => null);
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
