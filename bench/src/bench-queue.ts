import {
  createEventQueue,
  createRedis,
  type EventJob,
  eventJobOptions,
  jobIdFor,
  type QueueNames,
} from '@inlet/queue';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type CpuSource, redisCpu } from './cpu-meter.js';
import { benchEvent } from './event-fixtures.js';

/** Jobs per `addBulk` while filling: big enough to fill fast, small enough to keep memory flat. */
const FILL_CHUNK = 1000;

export interface QueueProgress {
  completed: number;
  failed: number;
  /** Waiting, active and delayed: what is left to do. */
  pending: number;
}

/** First and last completion in the queue, from BullMQ's completed set (scored by `finishedOn`). */
export interface CompletionSpan {
  count: number;
  firstMs: number;
  lastMs: number;
}

/** The run's queue as the harness sees it: filled before each phase, emptied after. */
export class BenchQueue {
  readonly queue: Queue<EventJob>;

  private constructor(
    readonly names: QueueNames,
    private readonly connection: Redis,
  ) {
    this.queue = createEventQueue(connection, names);
  }

  static async open(redisUrl: string, names: QueueNames): Promise<BenchQueue> {
    const connection = createRedis(redisUrl, 'worker', { connectionName: 'inlet-bench' });
    connection.on('error', () => {});
    const bench = new BenchQueue(names, connection);
    bench.queue.on('error', () => {});
    await bench.queue.waitUntilReady();
    return bench;
  }

  /** Adds `count` distinct events the way ingest does (same job options, jobId from the event id). */
  async fill(runId: string, count: number): Promise<void> {
    const receivedAt = Date.now();
    for (let start = 0; start < count; start += FILL_CHUNK) {
      const jobs = [];
      for (let n = start; n < Math.min(count, start + FILL_CHUNK); n++) {
        const event = benchEvent(runId, n, receivedAt);
        jobs.push({
          name: event.source,
          data: event,
          opts: { ...eventJobOptions, jobId: jobIdFor(event.source, event.eventId) },
        });
      }
      await this.queue.addBulk(jobs);
    }
  }

  async progress(): Promise<QueueProgress> {
    const counts = await this.queue.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed');
    return {
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      pending: (counts.wait ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0),
    };
  }

  /** Jobs waiting for a worker: the backlog. */
  waiting(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  /** Redis's CPU time, from the same connection. */
  cpuSource(): CpuSource {
    return redisCpu(this.connection);
  }

  async completionSpan(): Promise<CompletionSpan> {
    const key = this.queue.keys.completed;
    if (key === undefined) throw new Error('BullMQ did not name its completed set');
    const [count, first, last] = await Promise.all([
      this.connection.zcard(key),
      this.connection.zrange(key, 0, 0, 'WITHSCORES'),
      this.connection.zrange(key, -1, -1, 'WITHSCORES'),
    ]);
    return { count, firstMs: Number(first[1]), lastMs: Number(last[1]) };
  }

  /** Removes every job and key of the queue, so the next phase starts from an empty one. */
  async empty(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  async redisVersion(): Promise<string> {
    const info = await this.connection.info('server');
    return /^redis_version:(.+)$/m.exec(info)?.[1]?.trim() ?? 'unknown';
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.connection.disconnect();
  }
}
