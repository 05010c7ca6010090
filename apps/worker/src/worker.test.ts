import { countEvents, createSql, migrate, quoteIdentifier, type Sql } from '@inlet/db';
import { createEventQueue, createRedis, type EventJob, EventProducer } from '@inlet/queue';
import {
  createTestDatabase,
  type TestDatabase,
  testRedisUrl,
  uniqueName,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriter, DatabaseUnavailableError, HandlerError } from './batch-writer.js';
import type { Handler } from './handlers.js';
import { parseEventJob } from './store-event.js';
import { createEventWorker, outageDelayMs } from './worker.js';

const logger = pino({ level: 'silent' });

function event(
  source: string,
  eventId: string,
  body = `{"id":"${eventId}","amount":12345678901234567890}`,
): EventJob {
  return {
    source,
    eventId,
    eventType: 'test.event',
    headers: { 'content-type': 'application/json' },
    body,
    receivedAt: Date.now(),
  };
}

describe('BatchWriter against real PostgreSQL', () => {
  let db: TestDatabase;
  let sql: Sql;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = db.sql;
    await sql`CREATE TABLE counters (name TEXT PRIMARY KEY, n INT NOT NULL)`;
  });
  afterAll(async () => {
    await db.drop();
  });

  it('writes concurrent events in shared transactions, each once', async () => {
    const sizes: number[] = [];
    const writer = new BatchWriter({
      sql,
      maxBatchSize: 50,
      maxConcurrentBatches: 1,
      onCommit: (n) => sizes.push(n),
    });
    const events = Array.from({ length: 200 }, (_, i) => event('grouped', `evt_${i}`));
    const outcomes = await Promise.all([...events, ...events.slice(0, 20)].map((e) => writer.write(e)));
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(200);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(20);
    expect(await countEvents(sql, 'grouped')).toBe(200);
    // The first event went alone; the rest were grouped while a transaction ran.
    expect(sizes[0]).toBe(1);
    expect(Math.max(...sizes)).toBe(50);
    expect(sizes.length).toBeLessThan(20);
  });

  it('retries real serialization failures and stores each event once', async () => {
    // Five copies of each event written at once at SERIALIZABLE: PostgreSQL answers the losers
    // of each race with SQLSTATE 40001, which the writer must retry.
    let retries = 0;
    const writer = new BatchWriter({
      sql,
      maxBatchSize: 1,
      maxConcurrentBatches: 10,
      isolation: 'serializable',
      onRetry: () => {
        retries += 1;
      },
    });
    const events = Array.from({ length: 10 }, (_, i) => event('contended', `evt_${i}`));
    const outcomes = await Promise.all(
      events.flatMap((e) => Array.from({ length: 5 }, () => writer.write(e))),
    );
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(10);
    expect(await countEvents(sql, 'contended')).toBe(10);
    expect(retries).toBeGreaterThan(0);
  });

  it('fails a poison event alone and commits its neighbours', async () => {
    const writer = new BatchWriter({ sql, maxBatchSize: 20, maxConcurrentBatches: 1 });
    // PostgreSQL text cannot hold NUL: this row can never be stored.
    const poison = event('poison', 'bad', 'nul \u0000 byte');
    const good = Array.from({ length: 9 }, (_, i) => event('poison', `good_${i}`));
    // Occupy the writer so the ten events below form one batch.
    const first = writer.write(event('poison', 'first'));
    const results = await Promise.allSettled(
      [...good.slice(0, 4), poison, ...good.slice(4)].map((e) => writer.write(e)),
    );
    await first;
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[4]?.status).toBe('rejected');
    expect(await countEvents(sql, 'poison')).toBe(10);
  });

  it('stores a body the database refuses as JSON without a payload, and its neighbours with theirs', async () => {
    const splits: number[] = [];
    const writer = new BatchWriter({
      sql,
      maxBatchSize: 20,
      maxConcurrentBatches: 1,
      onCommit: (n) => splits.push(n),
    });
    const refused = [
      event('refused', 'truncated', '{"id": "truncated", "amount": '),
      event('refused', 'nul_escape', '{"text":"a\\u0000b"}'),
      event('refused', 'lone_surrogate', '{"text":"\\ud800"}'),
      // Valid JSON nested deeper than the server's stack allows.
      event('refused', 'deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    ];
    const good = Array.from({ length: 7 }, (_, i) => event('refused', `good_${i}`));
    const first = writer.write(event('refused', 'first'));
    const outcomes = await Promise.all(
      [...good.slice(0, 3), ...refused, ...good.slice(3)].map((e) => writer.write(e)),
    );
    await first;
    expect(outcomes.every((outcome) => outcome === 'stored')).toBe(true);
    const rows = await sql<{ event_id: string; body: string; has_payload: boolean }[]>`
      SELECT event_id, body, payload IS NOT NULL AS has_payload FROM webhook_events WHERE source = 'refused'`;
    expect(rows).toHaveLength(12);
    for (const row of rows) {
      const sent = [...refused, ...good].find((e) => e.eventId === row.event_id);
      if (sent) expect(row.body).toBe(sent.body);
      expect(row.has_payload).toBe(!refused.some((e) => e.eventId === row.event_id));
    }
    // The batch was split to find them: more commits than batches.
    expect(splits.length).toBeGreaterThan(2);
  });

  it('runs a handler once per new event inside the storing transaction, and again on replay', async () => {
    await sql`INSERT INTO counters (name, n) VALUES ('paid', 0)`;
    const seen: string[] = [];
    const handler: Handler = async (e, tx) => {
      seen.push(`${e.eventId}:${e.replay}:${typeof e.payload}`);
      await tx`UPDATE counters SET n = n + 1 WHERE name = 'paid'`;
    };
    const writer = new BatchWriter({
      sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 2,
      handlers: new Map([['billing', handler]]),
    });
    const e = event('billing', 'inv_1');
    await Promise.all([writer.write(e), writer.write(e), writer.write(e)]);
    await writer.write(e);
    const [once] = await sql<{ n: number }[]>`SELECT n FROM counters WHERE name = 'paid'`;
    expect(once?.n).toBe(1);
    const [before] = await sql<{ processed_at: Date }[]>`
      SELECT processed_at FROM webhook_events WHERE source = 'billing' AND event_id = 'inv_1'`;
    expect(await writer.write({ ...e, replay: true })).toBe('replayed');
    const [twice] = await sql<{ n: number }[]>`SELECT n FROM counters WHERE name = 'paid'`;
    expect(twice?.n).toBe(2);
    const [after] = await sql<{ processed_at: Date }[]>`
      SELECT processed_at FROM webhook_events WHERE source = 'billing' AND event_id = 'inv_1'`;
    expect(after?.processed_at.getTime()).toBeGreaterThan(
      before?.processed_at.getTime() ?? Number.POSITIVE_INFINITY,
    );
    expect(seen).toEqual(['inv_1:false:object', 'inv_1:true:object']);
  });

  it('gives a handler the event type the row holds, also when it was read from the payload', async () => {
    const seen: Array<string | null> = [];
    const writer = new BatchWriter({
      sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlers: new Map([['typed', (e: Parameters<Handler>[0]) => void seen.push(e.eventType)]]),
    });
    const fromBody = (eventId: string, body: string): EventJob => ({
      ...event('typed', eventId, body),
      eventType: null,
      eventTypeField: 'type',
    });
    await writer.write(fromBody('t_1', '{"type":"invoice.paid"}'));
    await writer.write(fromBody('t_2', '{"type":7}'));
    await writer.write(event('typed', 't_3', '{"type":"ignored"}'));
    const rows = await sql<{ event_id: string; event_type: string | null }[]>`
      SELECT event_id, event_type FROM webhook_events WHERE source = 'typed' ORDER BY event_id`;
    expect(rows.map((row) => row.event_type)).toEqual(['invoice.paid', null, 'test.event']);
    expect(seen).toEqual(['invoice.paid', null, 'test.event']);
  });

  it('treats a replay under a fresh id like a duplicate: no row, no handler, no error, also within one batch', async () => {
    const handled: string[] = [];
    const handler: Handler = async (e) => {
      handled.push(e.eventId);
    };
    const sizes: number[] = [];
    const writer = new BatchWriter({
      sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlers: new Map([['replayed', handler]]),
      onCommit: (n) => sizes.push(n),
    });
    const content = 'd'.repeat(64);
    const copy = (eventId: string, contentSha256?: string) => ({
      ...event('replayed', eventId, '{"same":"body"}'),
      ...(contentSha256 ? { contentSha256 } : {}),
    });
    // The first write runs alone; the three below wait for it and form one batch.
    const first = writer.write(copy('first', 'e'.repeat(64)));
    const outcomes = await Promise.all([
      writer.write(copy('delivery-1', content)),
      writer.write(copy('delivery-2', content)),
      writer.write(copy('sha256:fallback', content)),
    ]);
    expect(await first).toBe('stored');
    expect(sizes).toEqual([1, 3]);
    expect(outcomes).toEqual(['stored', 'duplicate', 'duplicate']);
    // Later, in a batch of its own.
    expect(await writer.write(copy('delivery-3', content))).toBe('duplicate');
    expect(handled).toEqual(['first', 'delivery-1']);
    expect(await countEvents(sql, 'replayed')).toBe(2);
    // An operator's replay of the stored event still runs its handler.
    expect(await writer.write({ ...copy('delivery-1', content), replay: true })).toBe('replayed');
    expect(handled).toEqual(['first', 'delivery-1', 'delivery-1']);
  });

  it('fails only the event whose handler throws, and stores nothing of it', async () => {
    const handler: Handler = async (e, tx) => {
      await tx`UPDATE counters SET n = n + 100 WHERE name = 'paid'`;
      if (e.eventId === 'boom') throw new Error('refused by business rule');
    };
    const writer = new BatchWriter({
      sql,
      maxBatchSize: 10,
      maxConcurrentBatches: 1,
      handlers: new Map([['shop', handler]]),
    });
    const [before] = await sql<{ n: number }[]>`SELECT n FROM counters WHERE name = 'paid'`;
    const results = await Promise.allSettled(['a', 'boom', 'b'].map((id) => writer.write(event('shop', id))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failure = results[1] as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(HandlerError);
    expect(String(failure.reason.message)).toContain('refused by business rule');
    const rows = await sql<
      { event_id: string }[]
    >`SELECT event_id FROM webhook_events WHERE source = 'shop' ORDER BY event_id`;
    expect(rows.map((r) => r.event_id)).toEqual(['a', 'b']);
    const [after] = await sql<{ n: number }[]>`SELECT n FROM counters WHERE name = 'paid'`;
    expect((after?.n ?? 0) - (before?.n ?? 0)).toBe(200);
  });

  it('reports an unreachable database as unavailable, not as the event’s fault', async () => {
    const dead = createSql('postgres://postgres@127.0.0.1:9/none', { max: 1, connect_timeout: 2 });
    const writer = new BatchWriter({ sql: dead, maxBatchSize: 10, maxConcurrentBatches: 1 });
    await expect(writer.write(event('x', 'y'))).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await dead.end();
  });

  it('reports a database without the events table as not ready, with what to do, not as the events’ fault', async () => {
    const unmigrated = await createTestDatabase({ migrate: false });
    try {
      const writer = new BatchWriter({ sql: unmigrated.sql, maxBatchSize: 10, maxConcurrentBatches: 1 });
      const writes = [writer.write(event('x', 'a')), writer.write(event('x', 'b'))];
      for (const write of writes) {
        await expect(write).rejects.toBeInstanceOf(DatabaseUnavailableError);
        await expect(write).rejects.toThrow(/not migrated: .*webhook_events.*run npm run migrate/);
      }
    } finally {
      await unmigrated.drop();
    }
  });

  it('reports a role without the privileges to store as not ready, with what to do', async () => {
    const role = uniqueName('inlet_reader');
    await sql.unsafe(`CREATE ROLE ${quoteIdentifier(role)} LOGIN`);
    await sql.unsafe(`GRANT SELECT ON TABLE webhook_events TO ${quoteIdentifier(role)}`);
    const url = new URL(db.url);
    url.username = role;
    const asReader = createSql(url.toString(), { max: 1 });
    try {
      const writer = new BatchWriter({ sql: asReader, maxBatchSize: 10, maxConcurrentBatches: 1 });
      const write = writer.write(event('x', 'denied'));
      await expect(write).rejects.toBeInstanceOf(DatabaseUnavailableError);
      await expect(write).rejects.toThrow(/lacks the worker's privileges: .*grants\.sql/);
    } finally {
      await asReader.end();
      await sql.unsafe(`REVOKE ALL ON TABLE webhook_events FROM ${quoteIdentifier(role)}`);
      await sql.unsafe(`DROP ROLE ${quoteIdentifier(role)}`);
    }
  });
});

describe('event worker against real Redis and PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('drains the queue into webhook_events: one row per event, raw body exact', async () => {
    const names = uniqueQueue();
    const producerConnection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(producerConnection, names), producerConnection);
    await producer.waitUntilReady();
    const bodies = new Map<string, string>();
    for (let i = 0; i < 40; i += 1) {
      const body = `{ "id": "evt_${i}", "text": "héllo ✓ \\u00e9", "n": 1.50 }\n`;
      bodies.set(`evt_${i}`, body);
      await producer.enqueue(event('drain', `evt_${i}`, body));
      await producer.enqueue(event('drain', `evt_${i}`, body));
    }
    const connection = createRedis(testRedisUrl(), 'worker');
    const { worker, stats } = createEventWorker({
      connection,
      queue: names,
      sql: db.sql,
      logger,
      concurrency: 8,
    });
    try {
      await waitFor(async () => (await countEvents(db.sql, 'drain')) === 40, 20_000, '40 rows');
      const rows = await db.sql<{ event_id: string; body: string; payload: string; event_type: string }[]>`
        select event_id, body, payload::text as payload, event_type from webhook_events where source = 'drain'`;
      expect(rows).toHaveLength(40);
      for (const row of rows) {
        expect(row.body).toBe(bodies.get(row.event_id));
        expect(row.event_type).toBe('test.event');
        expect(row.payload).toContain('"n": 1.50');
      }
      await waitFor(() => stats.stored === 40, 5000, 'stats');
    } finally {
      await worker.close();
      connection.disconnect();
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });

  it('takes no new job while the bodies in flight are over their bound, then takes them again', async () => {
    const names = uniqueQueue();
    const producerConnection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(producerConnection, names), producerConnection);
    await producer.waitUntilReady();
    const body = JSON.stringify({ pad: 'p'.repeat(100 * 1024) });
    for (let i = 0; i < 60; i += 1) await producer.enqueue(event('large', `evt_${i}`, body));
    // A slow handler keeps each batch's jobs in flight long enough for more to be taken.
    const slow: Handler = async (_event, tx) => {
      await tx`select pg_sleep(0.01)`;
    };
    const connection = createRedis(testRedisUrl(), 'worker');
    const { worker, heldBytes } = createEventWorker({
      connection,
      queue: names,
      sql: db.sql,
      logger,
      concurrency: 50,
      maxBodyBytesInFlight: 300 * 1024,
      handlers: new Map([['large', slow]]),
    });
    let peakActive = 0;
    const sampler = setInterval(() => {
      producer.queue.getActiveCount().then(
        (active) => {
          peakActive = Math.max(peakActive, active);
        },
        () => {},
      );
    }, 5);
    try {
      await waitFor(async () => (await countEvents(db.sql, 'large')) === 60, 30_000, '60 rows');
      // Jobs are taken until their data reaches the bound: three bodies of 100 KB and a bit, then
      // one more at most as a few are done. Without the bound all 50 would be taken at once.
      expect(peakActive).toBeGreaterThan(1);
      expect(peakActive).toBeLessThanOrEqual(4);
      // Every job's bytes were given back: nothing is counted once the queue is drained.
      await waitFor(() => worker.inFlight === 0, 5000, 'nothing in flight');
      expect(heldBytes()).toBe(0);
    } finally {
      clearInterval(sampler);
      await worker.close();
      connection.disconnect();
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });

  it('sends data that fails its schema straight to the failed set', async () => {
    const names = uniqueQueue();
    const connection = createRedis(testRedisUrl(), 'worker');
    const producerConnection = createRedis(testRedisUrl(), 'producer');
    const queue = createEventQueue(producerConnection, names);
    await queue.waitUntilReady();
    await queue.add('broken', { source: 'x' } as unknown as EventJob, { jobId: 'broken-1', attempts: 5 });
    const { worker } = createEventWorker({ connection, queue: names, sql: db.sql, logger, concurrency: 1 });
    try {
      const failed = await waitFor(async () => (await queue.getFailed())[0], 10_000, 'failed job');
      expect(failed.id).toBe('broken-1');
      expect(failed.attemptsMade).toBe(1);
      expect(failed.failedReason).toMatch(/invalid event in queue/);
    } finally {
      await worker.close();
      connection.disconnect();
      await queue.obliterate({ force: true });
      await queue.close();
      producerConnection.disconnect();
    }
  });

  it('keeps a job waiting, without spending attempts, while the database is unreachable', async () => {
    const names = uniqueQueue();
    const connection = createRedis(testRedisUrl(), 'worker');
    const producerConnection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(producerConnection, names), producerConnection);
    const dead = createSql('postgres://postgres@127.0.0.1:9/none', { max: 1, connect_timeout: 2 });
    await producer.waitUntilReady();
    const jobId = await producer.enqueue(event('outage', 'evt_1'));
    const { worker } = createEventWorker({ connection, queue: names, sql: dead, logger, concurrency: 1 });
    try {
      const delayed = await waitFor(
        async () => (await producer.queue.getDelayed())[0],
        10_000,
        'delayed job',
      );
      expect(delayed.id).toBe(jobId);
      expect(delayed.attemptsMade).toBe(0);
      expect(await producer.queue.getFailedCount()).toBe(0);
    } finally {
      await worker.close();
      await dead.end();
      connection.disconnect();
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });

  it('keeps jobs waiting, without spending attempts, while the events table is missing, and stores them once it is there', async () => {
    const unmigrated = await createTestDatabase({ migrate: false });
    const names = uniqueQueue();
    const connection = createRedis(testRedisUrl(), 'worker');
    const producerConnection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(producerConnection, names), producerConnection);
    await producer.waitUntilReady();
    for (let i = 0; i < 5; i += 1) await producer.enqueue(event('unmigrated', `evt_${i}`));
    const { worker, stats } = createEventWorker({
      connection,
      queue: names,
      sql: unmigrated.sql,
      logger,
      concurrency: 10,
    });
    try {
      await waitFor(async () => (await producer.queue.getDelayedCount()) === 5, 10_000, '5 delayed jobs');
      for (const job of await producer.queue.getDelayed()) expect(job.attemptsMade).toBe(0);
      expect(await producer.queue.getFailedCount()).toBe(0);

      await migrate(unmigrated.sql);
      await waitFor(async () => (await countEvents(unmigrated.sql, 'unmigrated')) === 5, 20_000, '5 rows');
      expect(stats.stored).toBe(5);
      expect(await producer.queue.getFailedCount()).toBe(0);
    } finally {
      await worker.close();
      connection.disconnect();
      await producer.queue.obliterate({ force: true });
      await producer.close();
      await unmigrated.drop();
    }
  });

  it('reports lag for new events only, not for replays', async () => {
    const names = uniqueQueue();
    const connection = createRedis(testRedisUrl(), 'worker');
    const producerConnection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(producerConnection, names), producerConnection);
    await producer.waitUntilReady();
    const lags: string[] = [];
    const outcomes: string[] = [];
    const { worker } = createEventWorker({
      connection,
      queue: names,
      sql: db.sql,
      logger,
      concurrency: 1,
      on: {
        committed: (e) => lags.push(e.eventId),
        outcome: (_e, outcome) => outcomes.push(outcome),
      },
    });
    try {
      const fresh = event('lag', 'evt_lag', '{"id":"evt_lag"}');
      await producer.enqueue(fresh);
      await waitFor(() => outcomes.length === 1, 10_000, 'the first event');
      // A replay of an event received long ago.
      await producer.queue.add('lag', { ...fresh, receivedAt: 1, replay: true }, { jobId: 'lag/replay-1' });
      await waitFor(() => outcomes.length === 2, 10_000, 'the replay');
      expect(outcomes).toEqual(['stored', 'replayed']);
      expect(lags).toEqual(['evt_lag']);
    } finally {
      await worker.close();
      connection.disconnect();
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });

  it('rejects job data that is not an event', () => {
    expect(() => parseEventJob({ source: 'a', eventId: 'b' })).toThrow(/invalid event in queue/);
  });
});

describe('BatchWriter watchdog', () => {
  it('gives a transaction that never settles back as unavailable, and frees its slot', async () => {
    const db = await createTestDatabase();
    try {
      const writer = new BatchWriter({
        sql: db.sql,
        maxBatchSize: 1,
        maxConcurrentBatches: 1,
        batchTimeoutMs: 300,
      });
      expect(await writer.write(event('slow', 'stuck'))).toBe('stored');
      const blocker = await db.sql.reserve();
      await blocker`BEGIN`;
      await blocker`SELECT 1 FROM webhook_events WHERE source = 'slow' AND event_id = 'stuck' FOR UPDATE`;
      // The replay's own UPDATE waits on the row lock held above: the transaction cannot settle.
      await expect(writer.write({ ...event('slow', 'stuck'), replay: true })).rejects.toBeInstanceOf(
        DatabaseUnavailableError,
      );
      // The slot is free again: another event is written while the first is still blocked.
      expect(await writer.write(event('fast', 'next'))).toBe('stored');
      // And the statement given up on was cancelled on the server, not left waiting on the lock.
      await waitFor(
        async () => {
          const [row] = await db.sql<{ n: number }[]>`
            SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = ${db.name} AND wait_event_type = 'Lock'`;
          return row?.n === 0;
        },
        10_000,
        'no statement waiting on a lock',
      );
      await blocker`ROLLBACK`;
      blocker.release();
    } finally {
      await db.drop();
    }
  });
});

describe('outageDelayMs', () => {
  it('grows with how long the outage has lasted, between half and all of 1 s to 30 s', () => {
    for (const [outageMs, low, high] of [
      [0, 500, 1000],
      [400, 500, 1000],
      [8000, 4000, 8000],
      [120_000, 15_000, 30_000],
    ] as const) {
      for (let i = 0; i < 50; i++) {
        const delay = outageDelayMs(outageMs);
        expect(delay).toBeGreaterThanOrEqual(low);
        expect(delay).toBeLessThanOrEqual(high);
      }
    }
  });
});
