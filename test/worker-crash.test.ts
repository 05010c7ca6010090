import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { countEvents } from '@inlet/db';
import { createEventQueue, createRedis, type EventJob, eventJobOptions, jobIdFor } from '@inlet/queue';
import {
  createTestDatabase,
  freePort,
  type TestDatabase,
  testRedisUrl,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, runNode, waitHealthy } from './support.js';

const event = (source: string, eventId: string): EventJob => ({
  source,
  eventId,
  eventType: 'invoice.paid',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ id: eventId, type: 'invoice.paid', amount: 1200 }),
  receivedAt: Date.now(),
});

/** Sums a counter over the /metrics pages of the workers still running. */
async function metricSum(ports: number[], name: string): Promise<number> {
  let total = 0;
  for (const port of ports) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    for (const line of text.split('\n')) {
      if (line.startsWith(name)) total += Number(line.split(' ').at(-1));
    }
  }
  return total;
}

describe('several worker processes, one killed mid-run', () => {
  let db: TestDatabase;
  let dir: string;
  const workers: RunningProcess[] = [];
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const queue = createEventQueue(connection, names);

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-crash-'));
    await db.sql`CREATE TABLE invoice_counter (id INT PRIMARY KEY, paid INT NOT NULL)`;
    await db.sql`INSERT INTO invoice_counter VALUES (1, 0)`;
  });
  afterAll(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function startWorkers(count: number, extra: Record<string, string>): Promise<number[]> {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const port = await freePort();
      const worker = runNode('apps/worker/dist/main.js', {
        REDIS_URL: testRedisUrl(),
        DATABASE_URL: db.url,
        INLET_QUEUE: names.name,
        INLET_QUEUE_PREFIX: names.prefix,
        WORKER_METRICS_PORT: String(port),
        // A killed worker's jobs come back after a few seconds instead of thirty.
        WORKER_LOCK_DURATION_MS: '4000',
        ...extra,
      });
      workers.push(worker);
      ports.push(port);
      await waitHealthy(`http://127.0.0.1:${port}/readyz`, worker);
    }
    return ports;
  }

  it('10,000 events, 3 workers, one SIGKILLed: exactly 10,000 rows', async () => {
    const total = 10_000;
    await queue.waitUntilReady();
    await startWorkers(3, {});
    for (let start = 0; start < total; start += 1000) {
      await queue.addBulk(
        Array.from({ length: 1000 }, (_, i) => {
          const e = event('crash', `evt_${start + i}`);
          return {
            name: e.source,
            data: e,
            opts: { ...eventJobOptions, jobId: jobIdFor(e.source, e.eventId) },
          };
        }),
      );
    }
    // Kill one as soon as the run is under way, with jobs of its own in flight.
    await waitFor(async () => (await countEvents(db.sql, 'crash')) >= 1000, 60_000, 'the run to start');
    await workers[0]?.stop('SIGKILL');
    await waitFor(async () => (await countEvents(db.sql, 'crash')) === total, 120_000, `${total} rows`);
    const [row] = await db.sql<{ n: number; distinct_ids: number }[]>`
      SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM webhook_events WHERE source = 'crash'`;
    expect(row).toEqual({ n: total, distinct_ids: total });
    expect(await queue.getFailedCount()).toBe(0);
    for (const worker of workers.splice(0)) await worker.stop();
  });

  it('a handler counting 1,000 events delivered 3 times each, under contention and a SIGKILL, counts 1,000', async () => {
    const handler = path.join(dir, 'count-paid.mjs');
    await writeFile(
      handler,
      `export async function handle(event, sql) {
  await sql\`UPDATE invoice_counter SET paid = paid + 1 WHERE id = 1\`;
}
`,
    );
    const sourcesFile = path.join(dir, 'inlet.sources.json');
    await writeFile(
      sourcesFile,
      JSON.stringify({
        sources: {
          billing: { provider: 'stripe', secrets: ['env:UNUSED_BY_WORKER'], handler: './count-paid.mjs' },
        },
      }),
    );
    const total = 1000;
    // Three deliveries of each event, as if each came back after Redis had forgotten the first:
    // distinct jobs, one event id. The database has the last word.
    // SERIALIZABLE and one hot counter row: PostgreSQL raises real 40001s between the workers.
    const ports = await startWorkers(3, { INLET_SOURCES: sourcesFile, INLET_DB_ISOLATION: 'serializable' });
    // The copies of an event are queued side by side, so different workers race to store them.
    const jobs = Array.from({ length: total }, (_, i) =>
      Array.from({ length: 3 }, (_, copy) => {
        const e = event('billing', `inv_${i}`);
        return {
          name: e.source,
          data: e,
          opts: { ...eventJobOptions, jobId: `${jobIdFor(e.source, e.eventId)}/delivery-${copy}` },
        };
      }),
    ).flat();
    for (let start = 0; start < jobs.length; start += 500)
      await queue.addBulk(jobs.slice(start, start + 500));
    await waitFor(async () => (await countEvents(db.sql, 'billing')) >= 200, 60_000, 'the run to start');
    await workers[0]?.stop('SIGKILL');
    await waitFor(
      async () => (await queue.getJobCounts('waiting', 'active', 'delayed')).waiting === 0,
      120_000,
      'the queue to drain',
    );
    await waitFor(
      async () => {
        const counts = await queue.getJobCounts('active', 'delayed', 'waiting');
        return counts.active === 0 && counts.delayed === 0 && counts.waiting === 0;
      },
      120_000,
      'every job to finish',
    );
    const [counter] = await db.sql<{ paid: number }[]>`SELECT paid FROM invoice_counter WHERE id = 1`;
    expect(counter?.paid).toBe(total);
    expect(await countEvents(db.sql, 'billing')).toBe(total);
    expect(await queue.getFailedCount()).toBe(0);
    const retries = await metricSum(ports.slice(1), 'inlet_db_transaction_retries_total');
    if (retries === 0) console.log(await fetch(`http://127.0.0.1:${ports[1]}/metrics`).then((r) => r.text()));
    expect(retries).toBeGreaterThan(0);
  });
});
