import { countEvents, createSql, type Sql } from '@inlet/db';
import { createEventQueue, createRedis, type EventJob } from '@inlet/queue';
import { createTestDatabase, type TestDatabase, testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriter, HandlerError, HandlerTimeoutError } from './batch-writer.js';
import type { Handler } from './handlers.js';
import { workerSessionSettings } from './session-settings.js';
import { shutDown } from './shutdown.js';
import { createEventWorker } from './worker.js';

const logger = pino({ level: 'silent' });

function event(source: string, eventId: string): EventJob {
  return {
    source,
    eventId,
    eventType: 'test.event',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: eventId }),
    receivedAt: Date.now(),
  };
}

/** Sessions of the test database in a given state, the asking one aside. */
async function sessions(
  sql: Sql,
  database: string,
  where: 'idle in transaction' | 'sleeping',
): Promise<number> {
  const [row] =
    where === 'sleeping'
      ? await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = ${database} AND query LIKE '%pg_sleep(600)%' AND state = 'active'
            AND pid <> pg_backend_pid()`
      : await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = ${database} AND state LIKE 'idle in transaction%'`;
  return row?.n ?? -1;
}

const never: Handler = () => new Promise<never>(() => {});
const sleepy: Handler = async (_event, sql) => {
  await sql`select pg_sleep(600)`;
};

describe('a handler that never returns', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it.each([
    ['never resolves', 'never', never],
    ['sleeps in the database', 'sleepy', sleepy],
  ])(
    'one that %s fails its event alone; its batch neighbours are stored and no session is left open',
    async (_label, source, handler) => {
      const writer = new BatchWriter({
        sql: db.sql,
        maxBatchSize: 10,
        maxConcurrentBatches: 1,
        handlerTimeoutMs: 300,
        handlers: new Map([[source, handler]]),
      });
      // Occupy the writer so that the events below form one batch.
      const first = writer.write(event('neighbour', `${source}-first`));
      const results = await Promise.allSettled([
        writer.write(event('neighbour', `${source}-a`)),
        writer.write(event(source, 'hung')),
        writer.write(event('neighbour', `${source}-b`)),
      ]);
      await first;
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const failure = (results[1] as PromiseRejectedResult).reason;
      expect(failure).toBeInstanceOf(HandlerTimeoutError);
      expect(failure.code).toBe('handler_timeout');
      expect(await countEvents(db.sql, source)).toBe(0);
      const rows = await db.sql<{ event_id: string }[]>`
      SELECT event_id FROM webhook_events WHERE source = 'neighbour' AND event_id LIKE ${`${source}-%`}`;
      expect(rows).toHaveLength(3);
      // The transaction was rolled back and its statement cancelled at once, not left to the server.
      expect(await sessions(db.sql, db.name, 'idle in transaction')).toBe(0);
      await waitFor(
        async () => (await sessions(db.sql, db.name, 'sleeping')) === 0,
        10_000,
        'no pg_sleep left',
      );
    },
  );

  it('stores the other sources of a batch before trying its hung source again', async () => {
    const writer = new BatchWriter({
      sql: db.sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlerTimeoutMs: 300,
      handlers: new Map([['never', never]]),
    });
    const settled: string[] = [];
    const track = (label: string, write: Promise<unknown>) =>
      write.then(
        () => settled.push(`${label} stored`),
        () => settled.push(`${label} failed`),
      );
    const first = writer.write(event('neighbour', 'order-first'));
    await Promise.all([
      track('hung 1', writer.write(event('never', 'order-1'))),
      track('hung 2', writer.write(event('never', 'order-2'))),
      track('other', writer.write(event('neighbour', 'order-other'))),
    ]);
    await first;
    // Once the first hung event is known, the other source's event does not wait for the second.
    expect(settled).toEqual(['hung 1 failed', 'other stored', 'hung 2 failed']);
  });

  it('refuses the queries a handler sends after it was given up on', async () => {
    await db.sql`CREATE TABLE IF NOT EXISTS late_writes (n INT)`;
    let late: Promise<unknown> | undefined;
    const handler: Handler = (_event, sql) =>
      new Promise<void>((resolve) => {
        setTimeout(() => {
          late = Promise.resolve().then(() => sql`INSERT INTO late_writes VALUES (1)`);
          late.catch(() => {});
          resolve();
        }, 600);
      });
    const writer = new BatchWriter({
      sql: db.sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlerTimeoutMs: 200,
      handlers: new Map([['late', handler]]),
    });
    await expect(writer.write(event('late', 'one'))).rejects.toBeInstanceOf(HandlerTimeoutError);
    // Meanwhile the connection went back to the pool and serves others.
    expect(await writer.write(event('neighbour', 'after-late'))).toBe('stored');
    await waitFor(() => late !== undefined, 5000, 'the late query');
    await expect(late).rejects.toThrow(/transaction is over|did not finish/);
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM late_writes`;
    expect(row?.n).toBe(0);
  });
});

describe('what a handler throws', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('a failed fetch whose cause says ECONNREFUSED is the handler’s failure, not a database outage', async () => {
    let calls = 0;
    const handler: Handler = () => {
      calls += 1;
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    };
    const writer = new BatchWriter({
      sql: db.sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlers: new Map([['api', handler]]),
    });
    const failure = await writer.write(event('api', 'refused')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HandlerError);
    expect((failure as HandlerError).code).toBe('handler_failed');
    expect(calls).toBe(1);
  });

  it('a message that reads "restart transaction" does not run the batch again', async () => {
    let calls = 0;
    const handler: Handler = () => {
      calls += 1;
      throw new Error('restart transaction: upstream said so');
    };
    let retries = 0;
    const writer = new BatchWriter({
      sql: db.sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlers: new Map([['echo', handler]]),
      onRetry: () => {
        retries += 1;
      },
    });
    await expect(writer.write(event('echo', 'restart'))).rejects.toBeInstanceOf(HandlerError);
    expect(calls).toBe(1);
    expect(retries).toBe(0);
  });

  it('a real serialization failure of the handler’s own statement is still retried', async () => {
    let calls = 0;
    const handler: Handler = async (_event, sql) => {
      calls += 1;
      if (calls === 1) {
        await sql`DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001'; END $$`;
      }
    };
    let retries = 0;
    const writer = new BatchWriter({
      sql: db.sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlers: new Map([['contended', handler]]),
      onRetry: () => {
        retries += 1;
      },
    });
    expect(await writer.write(event('contended', 'once'))).toBe('stored');
    expect(calls).toBe(2);
    expect(retries).toBe(1);
  });
});

describe('event worker with hung handlers, against real Redis and PostgreSQL', () => {
  let db: TestDatabase;
  let sql: Sql;
  let connection: Redis;
  let producerConnection: Redis;
  let queue: Queue<EventJob>;
  const names = uniqueQueue();
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // As the worker sizes its pool: batch concurrency + 1, with the session timeouts it sets.
    sql = createSql(db.url, { max: 3, session: workerSessionSettings(500) });
    connection = createRedis(testRedisUrl(), 'worker');
    producerConnection = createRedis(testRedisUrl(), 'producer');
    queue = createEventQueue(producerConnection, names);
    await queue.waitUntilReady();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await queue.obliterate({ force: true });
  });
  afterAll(async () => {
    await queue.close();
    producerConnection.disconnect();
    connection.disconnect();
    await sql.end({ timeout: 5 });
    await db.drop();
  });

  const fewAttempts = { attempts: 2, backoff: { type: 'fixed', delay: 50 } } as const;

  it('keeps storing other sources; the hung events end in the failed set after their attempts', async () => {
    const { worker } = createEventWorker({
      connection,
      queue: names,
      sql,
      logger,
      concurrency: 50,
      maxConcurrentBatches: 2,
      handlerTimeoutMs: 500,
      handlers: new Map([
        ['never', never],
        ['sleepy', sleepy],
      ]),
    });
    cleanups.push(() => worker.close(true));
    await queue.add('never', event('never', 'n1'), { jobId: 'never-1', ...fewAttempts });
    await queue.add('sleepy', event('sleepy', 's1'), { jobId: 'sleepy-1', ...fewAttempts });
    for (let i = 0; i < 30; i += 1) {
      await queue.add('ok', event('ok', `evt_${i}`), { jobId: `ok-${i}`, ...fewAttempts });
    }
    await waitFor(async () => (await countEvents(sql, 'ok')) === 30, 30_000, '30 rows of the other source');
    const failed = await waitFor(
      async () => {
        const jobs = await queue.getFailed();
        return jobs.length === 2 ? jobs : null;
      },
      30_000,
      'both hung events failed',
    );
    for (const job of failed) {
      expect(job.attemptsMade).toBe(2);
      expect(job.failedReason).toMatch(/did not finish within 500 ms/);
    }
    expect(await countEvents(sql, 'never')).toBe(0);
    expect(await countEvents(sql, 'sleepy')).toBe(0);
    await waitFor(
      async () =>
        (await sessions(sql, db.name, 'idle in transaction')) === 0 &&
        (await sessions(sql, db.name, 'sleeping')) === 0,
      10_000,
      'no session left in a transaction or asleep',
    );
  });

  it('sends the event of a handler whose fetch was refused to the failed set after its attempts', async () => {
    const refused: Handler = () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    };
    const restart: Handler = () => {
      throw new Error('restart transaction: said an upstream API');
    };
    const { worker } = createEventWorker({
      connection,
      queue: names,
      sql,
      logger,
      concurrency: 10,
      handlers: new Map([
        ['api', refused],
        ['echo', restart],
      ]),
    });
    cleanups.push(() => worker.close(true));
    await queue.add('api', event('api', 'a1'), { jobId: 'api-1', ...fewAttempts });
    await queue.add('echo', event('echo', 'e1'), { jobId: 'echo-1', ...fewAttempts });
    const failed = await waitFor(
      async () => {
        const jobs = await queue.getFailed();
        return jobs.length === 2 ? jobs : null;
      },
      20_000,
      'both events failed',
    );
    for (const job of failed) expect(job.attemptsMade).toBe(2);
    expect(failed.map((job) => job.failedReason).sort()).toEqual([
      'handler of source api failed: fetch failed',
      'handler of source echo failed: restart transaction: said an upstream API',
    ]);
    // Never taken for a database outage: nothing waits without spending attempts.
    expect(await queue.getDelayedCount()).toBe(0);
  });

  it('closes by its shutdown deadline with a hung job in flight, which stays in Redis to run again', async () => {
    // A connection and pool of its own, as a worker process has: the shutdown closes them.
    const workerConnection = createRedis(testRedisUrl(), 'worker');
    const workerSql = createSql(db.url, { max: 3 });
    const { worker } = createEventWorker({
      connection: workerConnection,
      queue: names,
      sql: workerSql,
      logger,
      concurrency: 10,
      handlerTimeoutMs: 600_000,
      handlers: new Map([['never', never]]),
    });
    await queue.add('never', event('never', 'stuck'), { jobId: 'never-stuck', ...fewAttempts });
    await waitFor(async () => (await queue.getActiveCount()) === 1, 10_000, 'the job in flight');
    const result = await shutDown({
      worker,
      queue: createEventQueue(workerConnection, names),
      sql: workerSql,
      connection: workerConnection,
      logger,
      timeoutMs: 500,
    });
    expect(result).toEqual({ forced: true, leftInFlight: 1 });
    // Not lost: still active, its lock no longer renewed, for the stalled-job check to take back.
    expect(await queue.getJobState('never-stuck')).toBe('active');
  });
});
