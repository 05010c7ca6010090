import { startRedisServer, testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { type Job, Queue, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchConsumer, type BatchConsumerOptions, DelayJobError, type TakenJob } from './batch-consumer.js';
import { createRedis } from './redis.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A queue of its own, with a connection for a consumer and one for the test's own look at it. */
async function setUp() {
  const names = uniqueQueue();
  const queueConnection = createRedis(testRedisUrl(), 'worker');
  const queue = new Queue(names.name, { connection: queueConnection, prefix: names.prefix });
  await queue.waitUntilReady();
  const connections: Redis[] = [queueConnection];
  cleanups.push(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    for (const connection of connections) connection.disconnect();
  });
  const consume = (
    process: (job: TakenJob) => Promise<unknown>,
    options: Partial<BatchConsumerOptions> = {},
  ): BatchConsumer => {
    const connection = createRedis(testRedisUrl(), 'worker');
    connections.push(connection);
    const consumer = new BatchConsumer({
      connection,
      queue: names,
      process,
      concurrency: 50,
      maxBytesInFlight: 1024 * 1024,
      lockDurationMs: 5000,
      maxStalledCount: 10,
      keepCompleted: { age: 3600, count: 1000 },
      ...options,
    });
    consumer.on('error', () => {});
    consumer.run();
    cleanups.push(() => consumer.close(true));
    return consumer;
  };
  return { queue, consume };
}

const addJobs = (queue: Queue, count: number, opts = {}) =>
  queue.addBulk(
    Array.from({ length: count }, (_, i) => ({
      name: 'n',
      data: { i },
      opts: { jobId: `job-${i}`, ...opts },
    })),
  );

describe('BatchConsumer against real Redis', () => {
  it('runs each job once and leaves it completed as BullMQ would, return value and all', async () => {
    const { queue, consume } = await setUp();
    await addJobs(queue, 300);
    const seen: number[] = [];
    consume(async (job) => {
      const { i } = JSON.parse(job.data) as { i: number };
      seen.push(i);
      return { doubled: i * 2 };
    });
    await waitFor(async () => (await queue.getCompletedCount()) === 300, 10_000, '300 completed');
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const job = (await queue.getJob('job-7')) as Job;
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toEqual({ doubled: 14 });
    expect(job.attemptsMade).toBe(1);
    expect(job.attemptsStarted).toBe(1);
    expect(job.processedOn).toBeGreaterThan(0);
    expect(job.finishedOn).toBeGreaterThanOrEqual(job.processedOn as number);
    expect(await queue.getActiveCount()).toBe(0);
    expect(await queue.getWaitingCount()).toBe(0);
  });

  it('wakes for a job added while it waits, rather than at the end of its longest wait', async () => {
    const { queue, consume } = await setUp();
    const done: string[] = [];
    consume(
      async (job) => {
        done.push(job.id);
      },
      { maxBlockMs: 60_000 },
    );
    // Let the consumer find the queue empty and block.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queue.add('n', {}, { jobId: 'late' });
    await waitFor(() => done.includes('late'), 20_000, 'the late job');
  });

  it('shares the queue between consumers without running any job twice', async () => {
    const { queue, consume } = await setUp();
    await addJobs(queue, 1000);
    const runs = new Map<string, number>();
    const process = async (job: TakenJob) => {
      runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 1));
    };
    const consumers = [consume(process), consume(process), consume(process)];
    await waitFor(async () => (await queue.getCompletedCount()) === 1000, 20_000, '1000 completed');
    expect(runs.size).toBe(1000);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(consumers.every((consumer) => consumer.inFlight === 0)).toBe(true);
  });

  it('takes nothing while the queue is paused, and goes on once it is resumed', async () => {
    const { queue, consume } = await setUp();
    await queue.pause();
    await addJobs(queue, 5);
    let runs = 0;
    consume(
      async () => {
        runs += 1;
      },
      { maxBlockMs: 100 },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runs).toBe(0);
    expect(await queue.getWaitingCount()).toBe(5);
    await queue.resume();
    await waitFor(async () => (await queue.getCompletedCount()) === 5, 10_000, '5 completed');
    expect(runs).toBe(5);
  });

  it('parks a job that asks to wait in the delayed set without spending an attempt, then runs it again when due', async () => {
    const { queue, consume } = await setUp();
    await queue.add('n', {}, { jobId: 'later', attempts: 3 });
    let runs = 0;
    consume(async () => {
      runs += 1;
      if (runs === 1) throw new DelayJobError(Date.now() + 400);
      return 'done';
    });
    await waitFor(async () => (await queue.getDelayedCount()) === 1, 10_000, 'delayed');
    const delayed = (await queue.getJob('later')) as Job;
    expect(delayed.attemptsMade).toBe(0);
    await waitFor(async () => (await queue.getCompletedCount()) === 1, 10_000, 'completed');
    expect(runs).toBe(2);
    expect(((await queue.getJob('later')) as Job).returnvalue).toBe('done');
  });

  it("fails through BullMQ's attempts and backoff, and at once for an unrecoverable error", async () => {
    const { queue, consume } = await setUp();
    await queue.add(
      'n',
      { kind: 'flaky' },
      { jobId: 'flaky', attempts: 2, backoff: { type: 'fixed', delay: 50 } },
    );
    await queue.add('n', { kind: 'poison' }, { jobId: 'poison', attempts: 5 });
    const failures: string[] = [];
    const consumer = consume(async (job) => {
      const { kind } = JSON.parse(job.data) as { kind: string };
      if (kind === 'poison') throw new UnrecoverableError('never');
      throw new Error(`attempt ${job.attemptsMade + 1} failed`);
    });
    consumer.on('failed', (job: Job) => failures.push(job.id as string));
    await waitFor(async () => (await queue.getFailedCount()) === 2, 10_000, 'both failed');
    const flaky = (await queue.getJob('flaky')) as Job;
    expect(flaky.attemptsMade).toBe(2);
    expect(flaky.failedReason).toBe('attempt 2 failed');
    const poison = (await queue.getJob('poison')) as Job;
    expect(poison.attemptsMade).toBe(1);
    expect(poison.failedReason).toBe('never');
    expect(failures.sort()).toEqual(['flaky', 'flaky', 'poison']);
  });

  it('keeps completed jobs by count, deleting the hashes of the oldest', async () => {
    const { queue, consume } = await setUp();
    await addJobs(queue, 30);
    consume(async () => null, { keepCompleted: { age: 3600, count: 10 }, concurrency: 1 });
    await waitFor(
      async () => (await queue.getWaitingCount()) === 0 && (await queue.getActiveCount()) === 0,
      10_000,
      'drained',
    );
    expect(await queue.getCompletedCount()).toBe(10);
    // Taken one at a time, in order: the first ones were trimmed, hash and all.
    expect(await queue.getJob('job-0')).toBeUndefined();
    expect(await queue.getJob('job-29')).toBeDefined();
  });

  it('keeps completed jobs by age', async () => {
    const { queue, consume } = await setUp();
    await addJobs(queue, 5);
    const consumer = consume(async () => null, { keepCompleted: { age: 1, count: 1000 } });
    await waitFor(async () => (await queue.getCompletedCount()) === 5, 10_000, '5 completed');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The next completion trims what is older than a second.
    await queue.add('n', {}, { jobId: 'fresh' });
    await waitFor(async () => (await queue.getCompletedCount()) === 1, 10_000, 'the old ones trimmed');
    expect(await queue.getJob('job-0')).toBeUndefined();
    expect(consumer.inFlight).toBe(0);
  });

  it('keeps the lock of a job that runs longer than the lock lasts, so nothing else takes it', async () => {
    const { queue, consume } = await setUp();
    await queue.add('n', {}, { jobId: 'slow' });
    let runs = 0;
    const stalls: string[] = [];
    // The job outlives its lock more than twice over: only renewals keep it.
    const options = { lockDurationMs: 2000, stalledIntervalMs: 300 };
    const first = consume(async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 4500));
    }, options);
    first.on('stalled', (id: string) => stalls.push(id));
    // A second consumer's stalled check would put the job back if its lock were let go.
    const second = consume(async () => {
      runs += 1;
    }, options);
    second.on('stalled', (id: string) => stalls.push(id));
    await waitFor(async () => (await queue.getCompletedCount()) === 1, 10_000, 'completed');
    expect(runs).toBe(1);
    expect(stalls).toEqual([]);
  });

  it('gives the jobs of a consumer that stopped without finishing them to another, once their locks expire', async () => {
    const { queue, consume } = await setUp();
    await addJobs(queue, 20);
    const stuck = consume(() => new Promise(() => {}), { lockDurationMs: 500, stalledIntervalMs: 200 });
    await waitFor(() => stuck.inFlight === 20, 10_000, 'all taken by the stuck consumer');
    await stuck.close(true);
    const done = new Set<string>();
    consume(
      async (job) => {
        done.add(job.id);
      },
      { lockDurationMs: 500, stalledIntervalMs: 200 },
    );
    await waitFor(async () => (await queue.getCompletedCount()) === 20, 15_000, '20 completed');
    expect(done.size).toBe(20);
  });

  it('fails a job BullMQ found stalled too often, without running it again', async () => {
    const { queue, consume } = await setUp();
    await queue.add('n', {}, { jobId: 'crashy' });
    const stuck = consume(() => new Promise(() => {}), {
      lockDurationMs: 300,
      stalledIntervalMs: 150,
      maxStalledCount: 0,
    });
    await waitFor(() => stuck.inFlight === 1, 10_000, 'taken');
    await stuck.close(true);
    let runs = 0;
    consume(
      async () => {
        runs += 1;
      },
      { lockDurationMs: 300, stalledIntervalMs: 150, maxStalledCount: 0 },
    );
    await waitFor(async () => (await queue.getFailedCount()) === 1, 10_000, 'failed');
    const job = (await queue.getJob('crashy')) as Job;
    expect(job.failedReason).toMatch(/stalled more than allowable limit/);
    expect(runs).toBe(0);
  });

  it('takes jobs only until their data reaches its bound', async () => {
    const { queue, consume } = await setUp();
    const pad = 'x'.repeat(10_000);
    await queue.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'n', data: { i, pad } })));
    let running = 0;
    let peak = 0;
    const consumer = consume(
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running -= 1;
      },
      { maxBytesInFlight: 35_000 },
    );
    await waitFor(async () => (await queue.getCompletedCount()) === 40, 10_000, '40 completed');
    // Four jobs of 10 KB and a bit reach 35 KB; the concurrency of 50 would allow all 40.
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
    expect(consumer.bytesInFlight).toBe(0);
  });

  it('closes at once when forced, even with Redis gone', async () => {
    const server = await startRedisServer();
    const connection = createRedis(server.url, 'worker');
    const consumer = new BatchConsumer({
      connection,
      queue: uniqueQueue(),
      process: async () => null,
      concurrency: 10,
      maxBytesInFlight: 1024 * 1024,
      lockDurationMs: 5000,
      maxStalledCount: 10,
      keepCompleted: { age: 3600, count: 1000 },
      maxBlockMs: 100,
    });
    consumer.on('error', () => {});
    consumer.run();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await server.stop();
      // Its next take waits for Redis to come back, which it never will.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const closed = await Promise.race([
        consumer.close(true).then(() => 'closed'),
        new Promise((resolve) => setTimeout(resolve, 10_000, 'still waiting')),
      ]);
      expect(closed).toBe('closed');
    } finally {
      connection.disconnect();
    }
  });

  it('finishes the jobs in flight before a graceful close returns', async () => {
    const { queue, consume } = await setUp();
    await addJobs(queue, 10);
    let finished = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const consumer = consume(async () => {
      await gate;
      finished += 1;
    });
    await waitFor(() => consumer.inFlight === 10, 10_000, 'all taken');
    const closing = consumer.close();
    // The jobs finish only after the close has begun.
    setTimeout(release, 100);
    await closing;
    expect(finished).toBe(10);
    expect(await queue.getCompletedCount()).toBe(10);
    expect(await queue.getActiveCount()).toBe(0);
  });
});
