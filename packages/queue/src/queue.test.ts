import { startRedisServer } from '@inlet/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type EventJob, eventJobSchema, jobIdFor } from './event-job.js';
import {
  createEventQueue,
  type EnqueueOptions,
  EventProducer,
  eventJobOptions,
  QueueUnavailableError,
} from './queue.js';
import { createRedis } from './redis.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const suffix = `${process.pid}_${Math.random().toString(16).slice(2)}`;

/** A producer on a Redis of the test's own, with a plain connection to look at it, ready. */
async function producerOnOwnRedis(name: string, options: EnqueueOptions = {}) {
  const server = await startRedisServer();
  const connection = createRedis(server.url, 'producer');
  const queue = createEventQueue(connection, { name, prefix: `{${name}}` });
  const producer = new EventProducer(queue, connection, options);
  const admin = new Redis(server.url);
  await producer.waitUntilReady();
  const stop = async () => {
    admin.disconnect();
    await producer.close();
    await server.stop();
  };
  return { queue, producer, admin, stop };
}

describe('jobIdFor', () => {
  it('keeps readable ids readable', () => {
    expect(jobIdFor('github', '72d3162e-cc78-11e3-81ab-4c9367dc0958')).toBe(
      'github/72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
  });

  it('never contains ":" and is never an integer', () => {
    for (const id of ['sha256:abc', '12345', 'a:b:c', '0', 'x'.repeat(600), 'with space', 'ünïcode']) {
      const jobId = jobIdFor('s', id);
      expect(jobId).not.toContain(':');
      expect(`${Number.parseInt(jobId, 10)}`).not.toBe(jobId);
      expect(jobId.length).toBeLessThanOrEqual(200);
    }
  });

  it('keeps distinct (source, id) pairs distinct', () => {
    const pairs: Array<[string, string]> = [
      ['a', 'b/c'],
      ['a/b', 'c'],
      ['a', 'sha256:1'],
      ['a', 'sha256_1'],
      ['a', '/x'],
      ['a', 'x'],
      ['b', 'x'],
    ];
    const ids = new Set(pairs.map(([source, id]) => jobIdFor(source, id)));
    expect(ids.size).toBe(pairs.length);
  });
});

describe('eventJobSchema', () => {
  it('rejects data that is not a whole event', () => {
    expect(eventJobSchema.safeParse({ source: 'a', eventId: 'b' }).success).toBe(false);
  });
});

describe('EventProducer with real Redis', () => {
  const connection = createRedis(redisUrl, 'producer');
  const queue = createEventQueue(connection, { name: `events_${suffix}`, prefix: `{queue-test-${suffix}}` });
  const producer = new EventProducer(queue, connection);
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await producer.close();
  });

  const event: EventJob = {
    source: 'stripe',
    eventId: 'evt_1',
    eventType: 'invoice.paid',
    headers: { 'content-type': 'application/json' },
    body: '{"id":"evt_1"}',
    receivedAt: 1_700_000_000_000,
  };

  it('adds one job per event id, with retries and the dead-letter set kept', async () => {
    await producer.waitUntilReady();
    const first = await producer.enqueue(event);
    const second = await producer.enqueue({ ...event, receivedAt: event.receivedAt + 1 });
    expect(second).toBe(first);
    expect(await queue.getWaitingCount()).toBe(1);
    const job = await queue.getJob(first);
    expect(job?.data).toEqual(event);
    expect(job?.opts.attempts).toBe(eventJobOptions.attempts);
    expect(await producer.ping()).toBe(true);
  });

  it('counts the backlog: waiting and delayed jobs, not completed or failed ones', async () => {
    const before = await producer.backlog();
    await queue.add('stripe', { ...event, eventId: 'evt_delayed' }, { jobId: 'delayed-1', delay: 60_000 });
    await producer.enqueue({ ...event, eventId: 'evt_2' });
    expect(await producer.backlog()).toBe(before + 2);
  });

  it('fails fast when its connection is not up', async () => {
    const offline = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false });
    const idle = new EventProducer(queue, offline);
    expect(idle.connected).toBe(false);
    await expect(idle.enqueue(event)).rejects.toBeInstanceOf(QueueUnavailableError);
    expect(await idle.ping()).toBe(false);
    offline.disconnect();
  });
});

describe('EventProducer adding a batch per call', () => {
  const event = (eventId: string): EventJob => ({
    source: 'stripe',
    eventId,
    eventType: 'invoice.paid',
    headers: { 'content-type': 'application/json' },
    body: `{"id":"${eventId}"}`,
    receivedAt: 1_700_000_000_000,
  });

  it('stores each event as Queue.add would, and adds those handed over together in one script call', async () => {
    const { queue, producer, admin, stop } = await producerOnOwnRedis('adds');
    try {
      // The reference: BullMQ's own add of the same kind of event.
      await queue.add('stripe', event('evt_bullmq'), {
        ...eventJobOptions,
        jobId: jobIdFor('stripe', 'evt_bullmq'),
      });
      await admin.config('RESETSTAT');
      const ids = await Promise.all(
        Array.from({ length: 20 }, (_, i) => producer.enqueue(event(`evt_${i}`))),
      );
      const stats = await admin.info('commandstats');
      const calls = (name: string) =>
        Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      expect(calls('evalsha') + calls('eval')).toBe(1);

      const ours = await admin.hgetall(`{adds}:adds:${ids[0]}`);
      const theirs = await admin.hgetall(`{adds}:adds:${jobIdFor('stripe', 'evt_bullmq')}`);
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      expect(ours.name).toBe(theirs.name);
      expect(ours.delay).toBe(theirs.delay);
      expect(ours.priority).toBe(theirs.priority);
      expect(JSON.parse(ours.opts as string)).toEqual({
        ...JSON.parse(theirs.opts as string),
        jobId: ids[0],
      });
      expect(JSON.parse(ours.data as string)).toEqual(event('evt_0'));
      // Read back through BullMQ, as the worker and the dashboard do.
      const job = await queue.getJob(ids[0] as string);
      expect(job?.data).toEqual(event('evt_0'));
      expect(job?.opts.attempts).toBe(eventJobOptions.attempts);
      expect(job?.opts.removeOnComplete).toEqual(eventJobOptions.removeOnComplete);
      expect(await queue.getWaitingCount()).toBe(21);
      expect(await admin.zcard('{adds}:adds:marker')).toBe(1);
      // The stream says what BullMQ's add says: added, then waiting.
      const entries = await admin.xrevrange('{adds}:adds:events', '+', '-', 'COUNT', 2);
      expect(entries.map(([, fields]) => fields[1])).toEqual(['waiting', 'added']);

      // A duplicate is left as it was, and answered the same way.
      const again = await producer.enqueue({ ...event('evt_0'), receivedAt: 1 });
      expect(again).toBe(ids[0]);
      expect((await queue.getJob(again))?.data.receivedAt).toBe(1_700_000_000_000);
      expect(await queue.getWaitingCount()).toBe(21);
    } finally {
      await stop();
    }
  });

  it('adds to a paused queue without waking a consumer', async () => {
    const { queue, producer, admin, stop } = await producerOnOwnRedis('paused');
    try {
      await queue.pause();
      await producer.enqueue(event('evt_paused'));
      expect(await queue.getWaitingCount()).toBe(1);
      expect(await admin.exists('{paused}:paused:marker')).toBe(0);
    } finally {
      await stop();
    }
  });
});

describe('EventProducer acknowledging after replicas (WAIT)', () => {
  const event: EventJob = {
    source: 'stripe',
    eventId: 'evt_replicated',
    eventType: null,
    headers: {},
    body: '{}',
    receivedAt: 1_700_000_000_000,
  };

  it('refuses an event no replica holds in time, and accepts it once a replica does', async () => {
    const primary = await startRedisServer();
    const replica = await startRedisServer();
    const connection = createRedis(primary.url, 'producer');
    const queue = createEventQueue(connection, { name: 'replicated', prefix: '{replicated}' });
    const producer = new EventProducer(queue, connection, { ackReplicas: 1, ackTimeoutMs: 200 });
    const replicaClient = new Redis(replica.url);
    try {
      await producer.waitUntilReady();
      await expect(producer.enqueue(event)).rejects.toThrow(/reached 0 of 1 Redis replicas/);

      await replicaClient.replicaof('127.0.0.1', primary.port);
      await expect
        .poll(async () => /master_link_status:up/.test(await replicaClient.info('replication')), {
          timeout: 10_000,
        })
        .toBe(true);
      const id = await producer.enqueue({ ...event, eventId: 'evt_replicated_2' });
      // The replica holds the job: what WAIT promised.
      expect(await replicaClient.exists(`{replicated}:replicated:${id}`)).toBe(1);
    } finally {
      replicaClient.disconnect();
      await producer.close();
      await replica.stop();
      await primary.stop();
    }
  });
});

describe('EventProducer with a Redis that stalls while connected', () => {
  const event: EventJob = {
    source: 'stripe',
    eventId: 'evt_stalled',
    eventType: null,
    headers: {},
    body: '{}',
    receivedAt: 1_700_000_000_000,
  };

  it('refuses new events at once past maxPendingEvents, counting timed-out adds until Redis answers them', async () => {
    // The pause outlasts ioredis's own command timeout (5 s for producers), which the adds'
    // connection does not have: they count until Redis answers them.
    const { queue, producer, admin, stop } = await producerOnOwnRedis('stalled', {
      timeoutMs: 100,
      maxPendingEvents: 5,
    });
    try {
      await producer.enqueue(event);
      expect(producer.pending).toBe(0);

      // Writes (the add script among them) wait while the pause lasts; the connection stays up.
      await admin.call('CLIENT', 'PAUSE', '7000', 'WRITE');
      const stalled = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => producer.enqueue({ ...event, eventId: `evt_stalled_${i}` })),
      );
      for (const outcome of stalled) {
        expect(outcome.status).toBe('rejected');
        expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/did not answer in 100 ms/);
      }
      expect(producer.pending).toBe(5);
      // Past ioredis's command timeout, Redis still holds the adds.
      await new Promise((resolve) => setTimeout(resolve, 5500));
      expect(producer.pending).toBe(5);
      await expect(producer.enqueue({ ...event, eventId: 'evt_refused' })).rejects.toThrow(
        /has not answered 5 events yet/,
      );
      // Refused before it was sent: nothing more waits on Redis.
      expect(producer.pending).toBe(5);

      await admin.call('CLIENT', 'UNPAUSE');
      await expect.poll(() => producer.pending, { timeout: 5000 }).toBe(0);
      await producer.enqueue({ ...event, eventId: 'evt_after' });
      // The adds that timed out were still made once Redis answered: the sender's retry is a duplicate.
      expect(await queue.getWaitingCount()).toBe(7);
    } finally {
      await stop();
    }
  });
});
