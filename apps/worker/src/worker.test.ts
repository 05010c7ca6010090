import { countEvents, type Sql } from '@inlet/db';
import { createEventQueue, createRedis, type EventJob, EventProducer } from '@inlet/queue';
import { createTestDatabase, type TestDatabase, testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventJob, storeEvent } from './store-event.js';
import { createEventWorker } from './worker.js';

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

describe('worker against real Redis and PostgreSQL', () => {
  let db: TestDatabase;
  let sql: Sql;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = db.sql;
  });
  afterAll(async () => {
    await db.drop();
  });

  it('retries real serialization failures and stores each event once', async () => {
    // Five copies of each event written at once at SERIALIZABLE: PostgreSQL answers the losers
    // of each race with SQLSTATE 40001, which storeEvent must retry.
    let retries = 0;
    const onRetry = () => {
      retries += 1;
    };
    const events = Array.from({ length: 10 }, (_, i) => event('contended', `evt_${i}`));
    const results = await Promise.all(
      events.flatMap((e) =>
        Array.from({ length: 5 }, () => storeEvent(sql, e, { isolation: 'serializable', onRetry })),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await countEvents(sql, 'contended')).toBe(10);
    expect(retries).toBeGreaterThan(0);
  });

  it('drains the queue into webhook_events: one row per event, raw body exact', async () => {
    const names = uniqueQueue();
    const producerConnection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(producerConnection, names), producerConnection);
    await producer.queue.waitUntilReady();
    const bodies = new Map<string, string>();
    for (let i = 0; i < 40; i += 1) {
      const body = `{ "id": "evt_${i}", "text": "héllo ✓ \\u00e9", "n": 1.50 }\n`;
      bodies.set(`evt_${i}`, body);
      await producer.enqueue(event('drain', `evt_${i}`, body));
      await producer.enqueue(event('drain', `evt_${i}`, body));
    }
    const connection = createRedis(testRedisUrl(), 'worker');
    const { worker, stats } = createEventWorker({ connection, queue: names, sql, logger, concurrency: 8 });
    try {
      await waitFor(async () => (await countEvents(sql, 'drain')) === 40, 20_000, '40 rows');
      const rows = await sql<{ event_id: string; body: string; payload: string; event_type: string }[]>`
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

  it('stores a redelivered event only once', async () => {
    const e = event('again', 'evt_same');
    expect(await storeEvent(sql, e)).toBe(true);
    expect(await storeEvent(sql, e)).toBe(false);
    expect(await countEvents(sql, 'again')).toBe(1);
  });

  it('sends data that fails its schema straight to the failed set', async () => {
    const names = uniqueQueue();
    const connection = createRedis(testRedisUrl(), 'worker');
    const queue = createEventQueue(createRedis(testRedisUrl(), 'producer'), names);
    await queue.waitUntilReady();
    await queue.add('broken', { source: 'x' } as unknown as EventJob, { jobId: 'broken-1', attempts: 5 });
    const { worker } = createEventWorker({ connection, queue: names, sql, logger, concurrency: 1 });
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
    }
  });

  it('rejects job data that is not an event', () => {
    expect(() => parseEventJob({ source: 'a', eventId: 'b' })).toThrow(/invalid event in queue/);
  });
});
