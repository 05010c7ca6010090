import { createEventQueue, createRedis, type EventJob, eventJobOptions, jobIdFor } from '@inlet/queue';
import {
  createDatabaseOn,
  freePort,
  type PostgresServer,
  startPostgresServer,
  type TestDatabase,
  testRedisUrl,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, runNode, waitHealthy } from './support.js';

const event = (eventId: string): EventJob => ({
  source: 'outage',
  eventId,
  eventType: 'order.created',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ id: eventId }),
  receivedAt: Date.now(),
});

const count = async (db: TestDatabase) =>
  Number((await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM webhook_events`)[0]?.n ?? 0);

describe('the database goes away for 20 seconds mid-run', () => {
  let server: PostgresServer;
  let db: TestDatabase;
  let worker: RunningProcess | undefined;
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const queue = createEventQueue(connection, names);

  beforeAll(async () => {
    server = await startPostgresServer();
    db = await createDatabaseOn(server.url);
  });
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
    await db?.drop().catch(() => {});
    await server?.stop();
  });

  it('loses no job: every event lands once when it is back', async () => {
    const total = 3000;
    const port = await freePort();
    worker = runNode('apps/worker/dist/main.js', {
      REDIS_URL: testRedisUrl(),
      DATABASE_URL: db.url,
      INLET_QUEUE: names.name,
      INLET_QUEUE_PREFIX: names.prefix,
      WORKER_METRICS_PORT: String(port),
      LOG_LEVEL: 'info',
    });
    await waitHealthy(`http://127.0.0.1:${port}/readyz`, worker);
    const add = (from: number, to: number) =>
      queue.addBulk(
        Array.from({ length: to - from }, (_, i) => {
          const e = event(`evt_${from + i}`);
          return {
            name: e.source,
            data: e,
            opts: { ...eventJobOptions, jobId: jobIdFor(e.source, e.eventId) },
          };
        }),
      );
    await add(0, 1000);
    await waitFor(async () => (await count(db)) >= 200, 30_000, 'the run to start');
    await server.pause();
    // Deliveries keep arriving while the database is away.
    await add(1000, total);
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    expect((await queue.getJobCounts('failed')).failed).toBe(0);
    await server.resume();
    await waitFor(async () => (await count(db)) === total, 120_000, `${total} rows`).catch(async (error) => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
      throw new Error(
        `${(error as Error).message}; rows ${await count(db)}, jobs ${JSON.stringify(counts)}\n${worker?.output().slice(-3000)}`,
      );
    });
    const [row] = await db.sql<{ n: number; ids: number }[]>`
      SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM webhook_events`;
    expect(row).toEqual({ n: total, ids: total });
    expect(await queue.getFailedCount()).toBe(0);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    // Jobs waited for the database rather than failing.
    expect(metrics).toMatch(
      /inlet_worker_events_total\{source="outage",outcome="waiting_for_database"\} [1-9]/,
    );
  });
});
