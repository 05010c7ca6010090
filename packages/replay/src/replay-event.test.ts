import { getEvent, insertEvent, type NewEvent } from '@inlet/db';
import {
  createEventQueue,
  createRedis,
  type EventJob,
  eventJobOptions,
  eventJobSchema,
  jobIdFor,
} from '@inlet/queue';
import { createTestDatabase, type TestDatabase, testRedisUrl, uniqueQueue } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplayError } from './replay-error.js';
import { replayEvent, replayEvents } from './replay-event.js';

let database: TestDatabase;
const connection = createRedis(testRedisUrl(), 'producer');
const queues: ReturnType<typeof createEventQueue>[] = [];

/** A queue of the test's own, obliterated in afterAll. */
async function freshQueue() {
  const queue = createEventQueue(connection, uniqueQueue());
  queues.push(queue);
  await queue.waitUntilReady();
  return queue;
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  for (const queue of queues) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  connection.disconnect();
  await database?.drop();
});

function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    source: 'stripe',
    eventId: `evt_${Math.random().toString(36).slice(2)}`,
    eventType: 'invoice.paid',
    headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=abc' },
    body: '{"id":"evt_1","amount": 1.50, "note":"  spaced  "}',
    payloadJson: null,
    receivedAt: new Date('2026-11-22T10:00:00.123Z'),
    ...overrides,
  };
}

async function insert(event: NewEvent): Promise<string> {
  const { id } = await insertEvent(database.sql, event);
  if (id === null) throw new Error(`event ${event.eventId} was not inserted`);
  return id;
}

describe('replayEvent', () => {
  it('enqueues a job whose data is the stored row, marked as a replay', async () => {
    const queue = await freshQueue();
    const event = newEvent({ eventType: null, headers: { 'x-github-event': 'push' } });
    const id = await insert(event);
    const row = await getEvent(database.sql, id);

    const result = await replayEvent({ sql: database.sql, queue }, id);

    expect(result).toMatchObject({ source: event.source, eventId: event.eventId });
    const job = await queue.getJob(result.jobId);
    const expected: EventJob = {
      source: row?.source ?? '',
      eventId: row?.event_id ?? '',
      eventType: null,
      headers: { 'x-github-event': 'push' },
      body: event.body,
      receivedAt: Date.parse('2026-11-22T10:00:00.123Z'),
      replay: true,
    };
    expect(job?.data).toEqual(expected);
    expect(eventJobSchema.parse(job?.data)).toEqual(expected);
    expect(job?.name).toBe(event.source);
    expect(job?.opts.attempts).toBe(eventJobOptions.attempts);
    expect(job?.opts.backoff).toEqual(eventJobOptions.backoff);
    // Never the original delivery's jobId, which BullMQ would take for a duplicate.
    expect(result.jobId).not.toBe(jobIdFor(event.source, event.eventId));
    expect(result.jobId.startsWith(`${jobIdFor(event.source, event.eventId)}/`)).toBe(true);
    expect(result.jobId).not.toContain(':');
  });

  it('enqueues another job each time the same event is replayed', async () => {
    const queue = await freshQueue();
    const id = await insert(newEvent());

    const first = await replayEvent({ sql: database.sql, queue }, id);
    const second = await replayEvent({ sql: database.sql, queue }, id);

    expect(second.jobId).not.toBe(first.jobId);
    expect(await queue.getWaitingCount()).toBe(2);
    expect((await queue.getJob(second.jobId))?.data).toEqual((await queue.getJob(first.jobId))?.data);
  });

  it.each([
    ['an unknown id', '00000000-0000-4000-8000-000000000000'],
    ['a malformed id', 'not-a-uuid'],
    ['an empty id', ''],
  ])('answers not_found for %s and enqueues nothing', async (_, id) => {
    const queue = await freshQueue();
    const replay = replayEvent({ sql: database.sql, queue }, id);
    await expect(replay).rejects.toBeInstanceOf(ReplayError);
    await expect(replay).rejects.toMatchObject({ code: 'not_found' });
    expect(await queue.count()).toBe(0);
  });
});

describe('replayEvents', () => {
  it('enqueues exactly the events of the source received in [since, until), page by page', async () => {
    const queue = await freshQueue();
    const source = 'github';
    const since = new Date('2026-03-01T00:00:00.000Z');
    const until = new Date('2026-03-02T00:00:00.000Z');
    const at = (ms: number) => new Date(since.getTime() + ms);

    const inRange: string[] = [];
    for (let i = 0; i < 23; i += 1) {
      // Pairs share a received_at, so the id has to break ties between pages.
      const event = newEvent({ source, eventId: `in-${i}`, receivedAt: at(Math.floor(i / 2) * 1000) });
      await insert(event);
      inRange.push(event.eventId);
    }
    await insert(newEvent({ source, eventId: 'at-since', receivedAt: since }));
    inRange.push('at-since');
    await insert(newEvent({ source, eventId: 'before', receivedAt: at(-1) }));
    await insert(newEvent({ source, eventId: 'at-until', receivedAt: until }));
    await insert(newEvent({ source, eventId: 'after', receivedAt: at(2 * 86_400_000) }));
    await insert(newEvent({ source: 'stripe', eventId: 'other-source', receivedAt: at(5000) }));
    // Microseconds a JS Date cannot hold: a cursor kept as a Date would read these rows twice.
    for (const eventId of ['micro-a', 'micro-b', 'micro-c']) {
      await insert(newEvent({ source, eventId, receivedAt: at(7000) }));
      inRange.push(eventId);
    }
    await database.sql`
      UPDATE webhook_events SET received_at = received_at + interval '250 microseconds'
      WHERE event_id IN ('micro-a', 'micro-b', 'micro-c')`;

    const result = await replayEvents({ sql: database.sql, queue }, { source, since, until, batchSize: 4 });

    expect(result.enqueued).toBe(inRange.length);
    const jobs = await queue.getJobs(['wait']);
    expect(jobs.map((job) => job.data.eventId).sort()).toEqual([...inRange].sort());
    for (const job of jobs) {
      expect(job.data.replay).toBe(true);
      expect(job.data.source).toBe(source);
      expect(job.opts.attempts).toBe(eventJobOptions.attempts);
    }
    const microJob = jobs.find((job) => job.data.eventId === 'micro-a');
    expect(microJob?.data.receivedAt).toBe(at(7000).getTime());
  });

  it('replays up to now when no end is given, in one page or many', async () => {
    const queue = await freshQueue();
    const source = 'shopify';
    const since = new Date(Date.now() - 3_600_000);
    for (let i = 0; i < 5; i += 1) {
      await insert(
        newEvent({ source, eventId: `recent-${i}`, receivedAt: new Date(Date.now() - 60_000 - i) }),
      );
    }
    await insert(newEvent({ source, eventId: 'future', receivedAt: new Date(Date.now() + 3_600_000) }));

    expect(await replayEvents({ sql: database.sql, queue }, { source, since })).toEqual({ enqueued: 5 });
    expect(await replayEvents({ sql: database.sql, queue }, { source, since, batchSize: 5 })).toEqual({
      enqueued: 5,
    });
    expect(await queue.getWaitingCount()).toBe(10);
  });

  it('enqueues nothing for a range without events', async () => {
    const queue = await freshQueue();
    const since = new Date('2001-01-01T00:00:00Z');
    const until = new Date('2001-01-02T00:00:00Z');
    expect(await replayEvents({ sql: database.sql, queue }, { source: 'stripe', since, until })).toEqual({
      enqueued: 0,
    });
    expect(await queue.count()).toBe(0);
  });

  it.each([
    ['an empty source', { source: '' }],
    ['an end before the start', { until: new Date('2025-12-31T00:00:00Z') }],
    ['an empty range', { until: new Date('2026-01-01T00:00:00Z') }],
    ['an invalid date', { until: new Date(Number.NaN) }],
    ['a batch size of 0', { batchSize: 0 }],
    ['a fractional batch size', { batchSize: 2.5 }],
  ])('refuses %s as invalid_input', async (_, overrides) => {
    const queue = await freshQueue();
    const options = { source: 'stripe', since: new Date('2026-01-01T00:00:00Z'), ...overrides };
    await expect(replayEvents({ sql: database.sql, queue }, options)).rejects.toMatchObject({
      name: 'ReplayError',
      code: 'invalid_input',
    });
  });
});
