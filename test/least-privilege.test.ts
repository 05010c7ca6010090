import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { quoteIdentifier } from '@inlet/db';
import { providers } from '@inlet/signatures';
import {
  createTestDatabase,
  exited,
  freePort,
  type TestDatabase,
  testDatabaseServerUrl,
  testRedisUrl,
  uniqueName,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, removeQueue, repoRoot, runNode, waitHealthy } from './support.js';

const SECRET = 'least-privilege-secret';
const PASSWORD = 'least-privilege-dashboard-password';
const EVENTS = 5;
const INSUFFICIENT_PRIVILEGE = '42501';

/** The shipped files, as an operator applies them. */
const ROLES_FILE = 'deploy/sql/roles.sql';
const GRANTS_FILE = 'deploy/sql/grants.sql';

interface Names {
  readonly database: string;
  readonly migrate: string;
  readonly worker: string;
  readonly dashboard: string;
  readonly retention: string;
}

/**
 * A shipped file with this run's names: roles are cluster-wide in PostgreSQL, so each run has its
 * own. Fails when the file no longer names what the test substitutes, so the two stay in step.
 */
async function shippedSql(file: string, names: Names): Promise<string> {
  const text = await readFile(path.join(repoRoot, file), 'utf8');
  let substituted = text.replace(/\binlet_(migrate|worker|dashboard|retention)\b/g, (_, kind: string) =>
    quoteIdentifier(names[kind as 'migrate' | 'worker' | 'dashboard' | 'retention']),
  );
  if (file === ROLES_FILE) {
    expect(text).toMatch(/\bON DATABASE inlet\b/);
    substituted = substituted.replace(
      /\bON DATABASE inlet\b/g,
      `ON DATABASE ${quoteIdentifier(names.database)}`,
    );
  }
  return substituted;
}

/** Every statement of a shipped file, comments dropped. */
function statementsOf(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((statement) => statement.replace(/\s+/g, ' ').trim())
    .filter((statement) => statement !== '');
}

function urlAs(url: string, user: string): string {
  const target = new URL(url);
  target.username = user;
  target.password = '';
  return target.toString();
}

function githubHeaders(body: string, id: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...providers.github.sign(
      { body, secret: SECRET, timestamp: 0, id },
      { secrets: [SECRET], toleranceSeconds: 300 },
    ),
  };
}

/** The SQLSTATE a statement fails with; fails the test when it succeeds. */
async function refusal(statement: Promise<unknown>): Promise<string> {
  try {
    await statement;
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  throw new Error('expected the statement to be refused');
}

describe('the shipped SQL files', () => {
  it('hold only role and grant statements that PostgreSQL and CockroachDB both accept', async () => {
    for (const file of [ROLES_FILE, GRANTS_FILE]) {
      const text = await readFile(path.join(repoRoot, file), 'utf8');
      for (const statement of statementsOf(text)) {
        expect(statement, file).toMatch(/^(CREATE ROLE \w+ WITH LOGIN$|GRANT |REVOKE )/);
        // psql variables, meta-commands and DO blocks are PostgreSQL's own; IF NOT EXISTS on roles too.
        expect(statement, file).not.toMatch(/\\|:'|:"|\$\$|IF NOT EXISTS|PASSWORD|ALL PRIVILEGES/i);
      }
    }
  });
});

describe('the worker and dashboard with the narrow roles of deploy/sql', () => {
  let admin: postgres.Sql | undefined;
  let db: TestDatabase | undefined;
  let dir = '';
  let queue: { name: string; prefix: string } | undefined;
  const processes: RunningProcess[] = [];
  const clients: postgres.Sql[] = [];
  const names: Names = {
    database: '',
    migrate: uniqueName('inlet_migrate'),
    worker: uniqueName('inlet_worker'),
    dashboard: uniqueName('inlet_dashboard'),
    retention: uniqueName('inlet_retention'),
  };
  let ingestUrl = '';
  let dashboardUrl = '';
  let appEnv: Record<string, string> = {};
  const authorization = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

  /** A connection to the test database as `role`, closed after the tests. */
  const connectAs = (role: string) => {
    if (!db) throw new Error('no database');
    const sql = postgres(urlAs(db.url, role), { max: 1, onnotice: () => {} });
    clients.push(sql);
    return sql;
  };
  const dbSql = () => {
    if (!db) throw new Error('no database');
    return db.sql;
  };

  beforeAll(async () => {
    // Roles live outside any database: an admin connection of the server's own drops them after.
    admin = postgres(testDatabaseServerUrl(), { max: 1, onnotice: () => {} });
    db = await createTestDatabase({ migrate: false });
    const testDb = db;
    const withDatabase = { ...names, database: testDb.name };
    await testDb.sql.unsafe(await shippedSql(ROLES_FILE, withDatabase));

    // The migration runs as inlet_migrate through the real CLI, as an operator would run it.
    const migrateUrl = urlAs(testDb.url, names.migrate);
    const migration = runNode('apps/cli/dist/main.js', { DATABASE_URL: migrateUrl }, ['migrate']);
    expect(await exited(migration.child), migration.output()).toBe(0);
    // A team's own table, made by its own migration, which the handler below writes to.
    const asMigrate = connectAs(names.migrate);
    await asMigrate`CREATE TABLE team_audit (event_id TEXT NOT NULL, replay BOOL NOT NULL)`;
    await asMigrate.unsafe(await shippedSql(GRANTS_FILE, withDatabase));
    await asMigrate.unsafe(`GRANT INSERT ON TABLE team_audit TO ${quoteIdentifier(names.worker)}`);

    dir = await mkdtemp(path.join(tmpdir(), 'inlet-least-privilege-'));
    await writeFile(
      path.join(dir, 'audit-handler.mjs'),
      'export async function handle(event, sql) {\n' +
        "  await sql.unsafe('INSERT INTO team_audit (event_id, replay) VALUES ($1, $2)', [event.eventId, event.replay]);\n" +
        '}\n',
    );
    const sourcesFile = path.join(dir, 'inlet.sources.json');
    await writeFile(
      sourcesFile,
      JSON.stringify({
        sources: { gh: { provider: 'github', secrets: ['env:LP_SECRET'], handler: './audit-handler.mjs' } },
      }),
    );
    queue = uniqueQueue();
    const [port, workerPort, dashboardPort] = [await freePort(), await freePort(), await freePort()];
    appEnv = {
      REDIS_URL: testRedisUrl(),
      INLET_SOURCES: sourcesFile,
      INLET_QUEUE: queue.name,
      INLET_QUEUE_PREFIX: queue.prefix,
    };
    ingestUrl = `http://127.0.0.1:${port}`;
    dashboardUrl = `http://127.0.0.1:${dashboardPort}`;
    const ingest = runNode('apps/ingest/dist/main.js', { ...appEnv, PORT: String(port), LP_SECRET: SECRET });
    const worker = runNode('apps/worker/dist/main.js', {
      ...appEnv,
      DATABASE_URL: urlAs(testDb.url, names.worker),
      WORKER_METRICS_PORT: String(workerPort),
    });
    const dashboard = runNode('apps/dashboard/dist/main.js', {
      ...appEnv,
      DATABASE_URL: urlAs(testDb.url, names.dashboard),
      DASHBOARD_PORT: String(dashboardPort),
      DASHBOARD_PASSWORD: PASSWORD,
      INLET_INGEST_METRICS_URL: 'off',
    });
    processes.push(ingest, worker, dashboard);
    await waitHealthy(`${ingestUrl}/readyz`, ingest);
    // Ready means its role could open a connection and query.
    await waitHealthy(`http://127.0.0.1:${workerPort}/readyz`, worker);
    await waitHealthy(`${dashboardUrl}/readyz`, dashboard, 20_000, { authorization });
  });

  afterAll(async () => {
    for (const running of processes) await running.stop();
    await Promise.all(clients.map((sql) => sql.end({ timeout: 5 }).catch(() => {})));
    if (queue) await removeQueue(queue);
    await db?.drop();
    // After the database: a role that still holds privileges in one cannot be dropped.
    for (const role of [names.worker, names.dashboard, names.retention, names.migrate]) {
      await admin?.unsafe(`DROP ROLE IF EXISTS ${quoteIdentifier(role)}`);
    }
    await admin?.end({ timeout: 5 });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('migrates as inlet_migrate, which then owns the tables', async () => {
    const owners = await dbSql()<{ tablename: string; tableowner: string }[]>`
      SELECT tablename, tableowner FROM pg_tables
      WHERE tablename IN ('webhook_events', 'inlet_schema_migrations') ORDER BY tablename`;
    expect(owners).toEqual([
      { tablename: 'inlet_schema_migrations', tableowner: names.migrate },
      { tablename: 'webhook_events', tableowner: names.migrate },
    ]);
  });

  it('stores events and runs their handler with the worker role', async () => {
    for (let i = 0; i < EVENTS; i += 1) {
      const body = `{"n":${i}}`;
      const response = await fetch(`${ingestUrl}/webhooks/gh`, {
        method: 'POST',
        headers: githubHeaders(body, `lp-${i}`),
        body,
      });
      expect(response.status).toBe(202);
    }
    await waitFor(
      async () => {
        const [row] = await dbSql()<{ n: number }[]>`SELECT count(*)::int AS n FROM webhook_events`;
        return row?.n === EVENTS;
      },
      20_000,
      'the stored rows',
    );
    const audit = await waitFor(async () => {
      const rows = await dbSql()<{ event_id: string; replay: boolean }[]>`
        SELECT event_id, replay FROM team_audit ORDER BY event_id`;
      return rows.length === EVENTS ? rows : undefined;
    });
    expect(audit.every((row) => !row.replay)).toBe(true);
    expect(processes[1]?.output()).not.toMatch(/"level":(50|60)/);
  });

  it('lets the dashboard browse and replay with its read-only role; the worker moves processed_at', async () => {
    const listed = await fetch(`${dashboardUrl}/api/events?source=gh`, { headers: { authorization } });
    expect(listed.status).toBe(200);
    const { events } = (await listed.json()) as {
      events: { id: string; eventId: string; processedAt: string }[];
    };
    expect(events).toHaveLength(EVENTS);
    expect((await fetch(`${dashboardUrl}/api/stats`, { headers: { authorization } })).status).toBe(200);

    const first = events[0];
    if (!first) throw new Error('no event listed');
    const replayed = await fetch(`${dashboardUrl}/api/events/${first.id}/replay`, {
      method: 'POST',
      headers: { authorization },
    });
    expect(replayed.status).toBe(202);
    await waitFor(
      async () => {
        const [row] = await dbSql()<{ processed_at: Date }[]>`
          SELECT processed_at FROM webhook_events WHERE id = ${first.id}`;
        return row !== undefined && row.processed_at.getTime() > new Date(first.processedAt).getTime();
      },
      20_000,
      'processed_at to move after the dashboard replay',
    );
    const [handled] = await dbSql()<{ n: number }[]>`
      SELECT count(*)::int AS n FROM team_audit WHERE event_id = ${first.eventId} AND replay`;
    expect(handled?.n).toBe(1);
  });

  it('replays through `inlet replay` with the dashboard role, and the worker role commits it', async () => {
    // As the database's own text: a JS Date would cut off the microseconds.
    const [before] = await dbSql()<
      { at: string }[]
    >`SELECT max(processed_at)::text AS at FROM webhook_events`;
    const replay = runNode(
      'apps/cli/dist/main.js',
      { ...appEnv, DATABASE_URL: urlAs(db?.url ?? '', names.dashboard) },
      ['replay', '--source', 'gh', '--since', '1h'],
    );
    expect(await exited(replay.child), replay.output()).toBe(0);
    expect(replay.output()).toContain(`replayed ${EVENTS} events of source gh`);
    await waitFor(
      async () => {
        const [row] = await dbSql()<{ n: number }[]>`
          SELECT count(*)::int AS n FROM webhook_events WHERE processed_at > ${before?.at ?? ''}::text::timestamptz`;
        return row?.n === EVENTS;
      },
      20_000,
      'every processed_at to move',
    );
    const [handled] = await dbSql()<{ n: number }[]>`SELECT count(*)::int AS n FROM team_audit WHERE replay`;
    expect(handled?.n).toBe(EVENTS + 1);
    expect(processes[1]?.output()).not.toMatch(/"level":(50|60)/);
  });

  it('keeps the worker role from DDL, deletes and the migrations table', async () => {
    const worker = connectAs(names.worker);
    expect(await worker`SELECT count(*)::int AS n FROM webhook_events`).toEqual([{ n: EVENTS }]);
    const refused = [
      worker`DROP TABLE webhook_events`,
      worker`CREATE TABLE worker_made (id INT)`,
      worker`ALTER TABLE webhook_events ADD COLUMN extra TEXT`,
      worker`DELETE FROM webhook_events`,
      worker`TRUNCATE webhook_events`,
      worker`SELECT version FROM inlet_schema_migrations`,
      worker`INSERT INTO inlet_schema_migrations (version, name) VALUES (9999, 'forged')`,
      worker`SELECT event_id FROM team_audit`,
    ];
    for (const statement of refused) expect(await refusal(statement)).toBe(INSUFFICIENT_PRIVILEGE);
  });

  it('keeps the retention role to finding and deleting events, which `inlet prune` does with it', async () => {
    const retention = connectAs(names.retention);
    const refused = [
      retention`INSERT INTO webhook_events (source, event_id, body, received_at) VALUES ('gh', 'forged', '{}', now())`,
      retention`UPDATE webhook_events SET processed_at = now()`,
      retention`TRUNCATE webhook_events`,
      retention`DROP TABLE webhook_events`,
      retention`CREATE TABLE retention_made (id INT)`,
      retention`SELECT version FROM inlet_schema_migrations`,
      retention`DELETE FROM team_audit`,
    ];
    for (const statement of refused) expect(await refusal(statement)).toBe(INSUFFICIENT_PRIVILEGE);
    if (!db) throw new Error('no database');
    // Nothing is old enough for a year's retention; a dry run sees as much, then a run deletes none.
    const asRetention = { DATABASE_URL: urlAs(db.url, names.retention) };
    const dryRun = runNode('apps/cli/dist/main.js', asRetention, ['prune', '--before', '365d', '--dry-run']);
    expect(await exited(dryRun.child), dryRun.output()).toBe(0);
    expect(dryRun.output()).toMatch(/^would delete 0 events received before /);
    const run = runNode('apps/cli/dist/main.js', asRetention, ['prune', '--before', '365d']);
    expect(await exited(run.child), run.output()).toBe(0);
    expect(run.output()).toMatch(/^deleted 0 events received before /);
    expect(await retention`SELECT count(*)::int AS n FROM webhook_events`).toEqual([{ n: EVENTS }]);
  });

  it('keeps the dashboard role to reading events', async () => {
    const dashboard = connectAs(names.dashboard);
    expect(await dashboard`SELECT count(*)::int AS n FROM webhook_events`).toEqual([{ n: EVENTS }]);
    const refused = [
      dashboard`INSERT INTO webhook_events (source, event_id, body, received_at) VALUES ('gh', 'forged', '{}', now())`,
      dashboard`UPDATE webhook_events SET processed_at = now()`,
      dashboard`DELETE FROM webhook_events`,
      dashboard`DROP TABLE webhook_events`,
      dashboard`CREATE TABLE dashboard_made (id INT)`,
      dashboard`SELECT version FROM inlet_schema_migrations`,
      dashboard`INSERT INTO team_audit (event_id, replay) VALUES ('forged', false)`,
    ];
    for (const statement of refused) expect(await refusal(statement)).toBe(INSUFFICIENT_PRIVILEGE);
  });
});
