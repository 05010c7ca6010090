import { testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { type Job, Queue, UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchConsumer, type TakenJob } from './batch-consumer.js';
import { createRedis } from './redis.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the worker does with a job's data: anything but JSON can never be stored. */
async function parseOrFail(job: TakenJob): Promise<unknown> {
  let data: unknown;
  try {
    data = JSON.parse(job.data);
  } catch {
    throw new UnrecoverableError('invalid event in queue: data is not JSON');
  }
  if (typeof data !== 'object' || data === null || !('i' in data)) {
    throw new UnrecoverableError('invalid event in queue: not an event');
  }
  return data;
}

describe('a job written into Redis by something other than Inlet', () => {
  it.each([
    ['data that is not JSON', { data: 'not json' }, 'data', 'data.unreadableData'],
    ['options that are not JSON', { data: '{"x":1}', opts: '{broken' }, 'opts', 'opts.unreadable'],
  ])(
    'with %s ends in the failed set, listable, while other jobs keep flowing',
    async (_label, fields, field, kept) => {
      const names = uniqueQueue();
      const connection = createRedis(testRedisUrl(), 'worker');
      const queue = new Queue(names.name, { connection, prefix: names.prefix });
      await queue.waitUntilReady();
      const consumerConnection = createRedis(testRedisUrl(), 'worker');
      cleanups.push(async () => {
        await queue.obliterate({ force: true });
        await queue.close();
        connection.disconnect();
        consumerConnection.disconnect();
      });
      // The way a hostile or broken writer would: the hash and the wait-list entry, nothing else.
      const key = (type: string) => `${names.prefix}:${names.name}:${type}`;
      await connection.hset(key('hostile'), { name: 'x', timestamp: String(Date.now()), ...fields });
      await connection.lpush(key('wait'), 'hostile');
      // As written, BullMQ cannot read it back: nor could Bull Board list it, active or failed.
      await expect(queue.getJob('hostile')).rejects.toThrow();
      await queue.addBulk(
        Array.from({ length: 20 }, (_, i) => ({ name: 'n', data: { i }, opts: { jobId: `job-${i}` } })),
      );

      const consumer = new BatchConsumer({
        connection: consumerConnection,
        queue: names,
        process: parseOrFail,
        concurrency: 50,
        maxBytesInFlight: 1024 * 1024,
        lockDurationMs: 5000,
        maxStalledCount: 10,
        keepCompleted: { age: 3600, count: 1000 },
      });
      const failures: Job[] = [];
      consumer.on('failed', (job: Job) => failures.push(job));
      consumer.on('error', () => {});
      consumer.run();
      cleanups.push(() => consumer.close(true));

      await waitFor(async () => (await queue.getCompletedCount()) === 20, 10_000, 'the other jobs completed');
      const failed = await waitFor(
        async () => (await queue.getFailed())[0],
        10_000,
        'the job in the failed set',
      );
      expect(failed.id).toBe('hostile');
      expect(failed.failedReason).toContain(`${field} not JSON`);
      expect(failed.failedReason).toContain(kept);
      if (field === 'data') expect(failed.data).toEqual({ unreadableData: 'not json' });
      else expect(await connection.hget(key('hostile'), 'opts.unreadable')).toBe('{broken');
      expect(await queue.getJobState('hostile')).toBe('failed');
      // Listing the active set (Bull Board's view) works again: nothing unreadable is left in it.
      expect(await queue.getActive()).toEqual([]);
      expect(failures.map((job) => job.id)).toEqual(['hostile']);
      // Retried by hand, it fails again cleanly instead of looping.
      await failed.retry();
      await waitFor(async () => failures.length === 2, 10_000, 'failed once more');
      expect(await queue.getJobState('hostile')).toBe('failed');
    },
  );
});
