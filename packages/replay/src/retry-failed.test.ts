import { createEventQueue, createRedis, type EventJob } from '@inlet/queue';
import { testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { type Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { retryFailed } from './retry-failed.js';

const connection = createRedis(testRedisUrl(), 'producer');
const workerConnection = createRedis(testRedisUrl(), 'worker');
const queues: Queue<EventJob>[] = [];
const workers: Worker<EventJob>[] = [];

afterAll(async () => {
  for (const worker of workers) await worker.close();
  for (const queue of queues) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  connection.disconnect();
  workerConnection.disconnect();
});

function event(i: number): EventJob {
  return {
    source: 'stripe',
    eventId: `evt_${i}`,
    eventType: 'invoice.paid',
    headers: {},
    body: `{"id":"evt_${i}"}`,
    receivedAt: 1_700_000_000_000 + i,
  };
}

/** A queue of the test's own and a worker on it whose every job throws, once (attempts 1). */
async function queueWithFailingWorker() {
  const names = uniqueQueue();
  const queue = createEventQueue(connection, names);
  queues.push(queue);
  await queue.waitUntilReady();
  const worker = new Worker<EventJob>(
    names.name,
    async () => {
      throw new Error('the handler broke');
    },
    { connection: workerConnection, prefix: names.prefix, concurrency: 5 },
  );
  worker.on('error', () => {});
  workers.push(worker);
  return { queue, worker };
}

async function failJobs(queue: Queue<EventJob>, count: number): Promise<void> {
  await queue.addBulk(
    Array.from({ length: count }, (_, i) => ({
      name: 'stripe',
      data: event(i),
      opts: { jobId: `stripe/evt_${i}`, attempts: 1, removeOnFail: false },
    })),
  );
  await waitFor(async () => (await queue.getFailedCount()) === count, 10_000, `${count} failed jobs`);
}

describe('retryFailed', () => {
  it('moves every failed job back to waiting, attempts reset, in batches', async () => {
    const { queue, worker } = await queueWithFailingWorker();
    await failJobs(queue, 7);
    await worker.close();

    const progress: unknown[] = [];
    const onProgress = (step: unknown) => progress.push(step);
    expect(await retryFailed(queue, { batchSize: 3, onProgress })).toEqual({ retried: 7 });
    expect(progress).toEqual([
      { total: 7, seen: 3, retried: 3 },
      { total: 7, seen: 6, retried: 6 },
      { total: 7, seen: 7, retried: 7 },
    ]);

    expect(await queue.getFailedCount()).toBe(0);
    expect(await queue.getWaitingCount()).toBe(7);
    const jobs = await queue.getJobs(['wait']);
    expect(jobs.map((job) => job.data.eventId).sort()).toEqual(
      Array.from({ length: 7 }, (_, i) => `evt_${i}`).sort(),
    );
    for (const job of jobs) {
      expect(job.attemptsMade).toBe(0);
      expect(job.failedReason).toBeFalsy();
    }
    expect(await retryFailed(queue)).toEqual({ retried: 0 });
  });

  it('passes over a failed job whose data is gone and retries the rest', async () => {
    const { queue, worker } = await queueWithFailingWorker();
    await failJobs(queue, 4);
    await worker.close();
    const [oldest] = await queue.getRanges(['failed'], 0, 0, true);
    await connection.del(`${queue.opts.prefix}:${queue.name}:${oldest}`);

    expect(await retryFailed(queue, { batchSize: 1 })).toEqual({ retried: 3 });
    expect(await queue.getWaitingCount()).toBe(3);
    expect(await queue.getRanges(['failed'])).toEqual([oldest]);
  });

  it('ends while a worker keeps failing the jobs it moves', async () => {
    const { queue } = await queueWithFailingWorker();
    await failJobs(queue, 6);

    const { retried } = await retryFailed(queue, { batchSize: 2 });

    expect(retried).toBeGreaterThan(0);
    expect(retried).toBeLessThanOrEqual(6);
    await waitFor(async () => (await queue.getFailedCount()) === 6, 10_000, 'the jobs to fail again');
  });

  it('refuses a batch size out of bounds', async () => {
    const names = uniqueQueue();
    const queue = createEventQueue(connection, names);
    queues.push(queue);
    await expect(retryFailed(queue, { batchSize: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
