import type { Sql } from '@inlet/db';
import type { EventJob } from '@inlet/queue';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { parseEventJob, type StoreOptions, storeEvent } from './store-event.js';

export interface EventWorkerOptions {
  readonly connection: Redis;
  readonly queue: { readonly name: string; readonly prefix: string };
  readonly sql: Sql;
  readonly logger: Logger;
  readonly concurrency: number;
  readonly store?: StoreOptions;
}

export interface EventWorkerStats {
  stored: number;
  duplicates: number;
  transactionRetries: number;
}

/** A BullMQ worker that stores each event once; retries are BullMQ's, serialization retries ours. */
export function createEventWorker(options: EventWorkerOptions): {
  worker: Worker<EventJob>;
  stats: EventWorkerStats;
} {
  const stats: EventWorkerStats = { stored: 0, duplicates: 0, transactionRetries: 0 };
  const { logger } = options;
  const store: StoreOptions = {
    ...options.store,
    onRetry: (error, attempt) => {
      stats.transactionRetries += 1;
      options.store?.onRetry?.(error, attempt);
    },
  };
  const worker = new Worker<EventJob>(
    options.queue.name,
    async (job: Job<EventJob>) => {
      const event = parseEventJob(job.data);
      const inserted = await storeEvent(options.sql, event, store);
      if (inserted) stats.stored += 1;
      else stats.duplicates += 1;
      return { inserted };
    },
    { connection: options.connection, prefix: options.queue.prefix, concurrency: options.concurrency },
  );
  worker.on('failed', (job, error) => {
    logger.warn(
      { jobId: job?.id, source: job?.data.source, attemptsMade: job?.attemptsMade, err: error.message },
      'event not stored',
    );
  });
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  return { worker, stats };
}
