import type { Sql } from '@inlet/db';
import { batchWritesThisTurn, type EventJob } from '@inlet/queue';
import { DelayedError, type Job, type JobJson, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BatchWriter, DatabaseUnavailableError, type WriteOutcome } from './batch-writer.js';
import type { Handler } from './handlers.js';
import { parseEventJob } from './store-event.js';

export interface EventWorkerOptions {
  readonly connection: Redis;
  readonly queue: { readonly name: string; readonly prefix: string };
  readonly sql: Sql;
  readonly logger: Logger;
  /** Jobs in flight in this process: also the largest group commit it can form. */
  readonly concurrency: number;
  readonly maxBatchSize?: number;
  readonly maxConcurrentBatches?: number;
  readonly handlers?: ReadonlyMap<string, Handler>;
  readonly isolation?: 'serializable';
  /**
   * Bytes of job data (bodies, mostly) this process holds at once (default 16 MiB). Past it the
   * worker takes no new job until enough in flight are done, so a run of large events cannot take
   * its memory to `concurrency` times their size.
   */
  readonly maxBodyBytesInFlight?: number;
  /** How long a job's lock lasts: a killed worker's jobs come back after about this long. */
  readonly lockDurationMs?: number;
  /** Observers, e.g. metrics. */
  readonly on?: {
    readonly outcome?: (event: EventJob, outcome: WriteOutcome | 'failed' | 'waiting_for_database') => void;
    readonly retry?: () => void;
    readonly committed?: (event: EventJob, lagSeconds: number) => void;
  };
}

export interface EventWorkerStats {
  stored: number;
  duplicates: number;
  replayed: number;
  transactionRetries: number;
}

/** Bytes of job data a worker holds at once by default (WORKER_MAX_BODY_BYTES_IN_FLIGHT). */
export const DEFAULT_MAX_BODY_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

/**
 * How long an event waits for an unreachable database before its next try: about as long as the
 * outage has lasted so far, from 1 s up to 30 s, with jitter. It grows with time rather than with
 * the number of events turned back, since a worker with many jobs in flight turns back hundreds
 * at once: counting them would put even a blip's events 30 s away.
 */
export function outageDelayMs(outageMs: number): number {
  const ceiling = Math.min(30_000, Math.max(1000, outageMs));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * A BullMQ worker whose jobs are written by one BatchWriter (group commit). Three kinds of failure
 * are kept apart: contention is retried inside the transaction; an unreachable database puts the
 * job back to wait without spending one of its attempts, for as long as the outage lasts; any
 * other error (a handler throwing, data the database refuses) spends an attempt with BullMQ's
 * backoff and ends in the failed set, which is the dead-letter queue.
 */
export function createEventWorker(options: EventWorkerOptions): {
  worker: Worker<EventJob>;
  stats: EventWorkerStats;
  /** Bytes of job data taken and not yet done (see maxBodyBytesInFlight). */
  heldBytes: () => number;
} {
  const stats: EventWorkerStats = { stored: 0, duplicates: 0, replayed: 0, transactionRetries: 0 };
  const maxBodyBytes = options.maxBodyBytesInFlight ?? DEFAULT_MAX_BODY_BYTES_IN_FLIGHT;
  /** The size of each job taken and not yet done, as its data came from Redis. */
  const held = new WeakMap<Job<EventJob>, number>();
  let heldBytes = 0;
  /** Full concurrency while what is held fits its bound; no job taken beyond those in flight otherwise. */
  const throttle = () => {
    const wanted = heldBytes > maxBodyBytes ? 1 : options.concurrency;
    if (worker.concurrency !== wanted) worker.concurrency = wanted;
  };
  const { logger } = options;
  /** When the current database outage was first seen, or null while the database answers. */
  let outageSince: number | null = null;
  const writer = new BatchWriter({
    sql: options.sql,
    maxBatchSize: options.maxBatchSize ?? 256,
    maxConcurrentBatches: options.maxConcurrentBatches ?? 2,
    ...(options.handlers ? { handlers: options.handlers } : {}),
    ...(options.isolation ? { isolation: options.isolation } : {}),
    onRetry: () => {
      stats.transactionRetries += 1;
      options.on?.retry?.();
    },
    onCommit: () => {
      if (outageSince !== null) {
        logger.info({ waitedMs: Date.now() - outageSince }, 'database back: events are stored again');
        outageSince = null;
      }
      // The batch's jobs now complete together: their completions leave in one write to Redis.
      batchWritesThisTurn(options.connection);
    },
  });

  const processEvent = async (job: Job<EventJob>, event: EventJob, token: string | undefined) => {
    let outcome: WriteOutcome;
    try {
      outcome = await writer.write(event);
    } catch (error) {
      if (error instanceof DatabaseUnavailableError && token !== undefined) {
        const now = Date.now();
        if (outageSince === null) {
          outageSince = now;
          logger.warn({ err: error.message }, 'events wait for the database, without spending attempts');
        }
        options.on?.outcome?.(event, 'waiting_for_database');
        await job.moveToDelayed(now + outageDelayMs(now - outageSince), token);
        throw new DelayedError();
      }
      throw error;
    }
    if (outcome === 'stored') stats.stored += 1;
    else if (outcome === 'replayed') stats.replayed += 1;
    else stats.duplicates += 1;
    options.on?.outcome?.(event, outcome);
    // A replay keeps its original receivedAt: counting it would make the lag of live events look huge.
    if (outcome === 'stored' && !event.replay)
      options.on?.committed?.(event, (Date.now() - event.receivedAt) / 1000);
    return { outcome };
  };

  /**
   * BullMQ takes jobs until `concurrency` are in flight before it runs any of them, so their size
   * is counted as each is taken (createJob), not when it runs: one past the bound stops the taking
   * at once. The count is given back when the job is done, whatever the outcome (processJob).
   */
  class EventWorker extends Worker<EventJob> {
    protected override createJob(data: JobJson, jobId: string): Job<EventJob> {
      const job = super.createJob(data, jobId);
      const size = typeof data.data === 'string' ? data.data.length : 0;
      held.set(job, size);
      heldBytes += size;
      throttle();
      return job;
    }

    override async processJob(job: Job<EventJob>, token: string, fetchNextCallback?: () => boolean) {
      try {
        return await super.processJob(job, token, fetchNextCallback);
      } finally {
        const size = held.get(job);
        if (size !== undefined) {
          held.delete(job);
          heldBytes -= size;
          throttle();
        }
      }
    }
  }

  const worker = new EventWorker(
    options.queue.name,
    (job: Job<EventJob>, token?: string) => processEvent(job, parseEventJob(job.data), token),
    {
      connection: options.connection,
      prefix: options.queue.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs ?? 30_000,
      // Look for a dead worker's jobs as often as its locks can expire.
      stalledInterval: options.lockDurationMs ?? 30_000,
      // A job is failed as stalled only after many lost locks: a slow machine must not dead-letter events.
      maxStalledCount: 10,
    },
  );
  worker.on('failed', (job, error) => {
    const event = job?.data;
    if (event) options.on?.outcome?.(event, 'failed');
    logger.warn(
      { jobId: job?.id, source: event?.source, attemptsMade: job?.attemptsMade, err: error.message },
      'event not stored',
    );
  });
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  return { worker, stats, heldBytes: () => heldBytes };
}
