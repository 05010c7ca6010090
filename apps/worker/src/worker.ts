import type { Sql } from '@inlet/db';
import {
  BatchConsumer,
  DelayJobError,
  type EventJob,
  eventJobOptions,
  eventJobSchema,
  type TakenJob,
} from '@inlet/queue';
import { type Job, UnrecoverableError } from 'bullmq';
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
  /** How long a handler may take for one event (default 10 s): past it that event fails alone. */
  readonly handlerTimeoutMs?: number;
  /** How long a transaction may make no progress before its events wait for the database (default 60 s). */
  readonly batchTimeoutMs?: number;
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
 * A consumer of the events queue whose jobs are written by one BatchWriter (group commit). Three
 * kinds of failure are kept apart: contention is retried inside the transaction; an unreachable
 * database puts the job back to wait without spending one of its attempts, for as long as the
 * outage lasts; any other error (a handler throwing, data the database refuses) spends an attempt
 * with BullMQ's backoff and ends in the failed set, which is the dead-letter queue.
 */
export function createEventWorker(options: EventWorkerOptions): {
  worker: BatchConsumer;
  stats: EventWorkerStats;
  /** Bytes of job data taken and not yet done (see maxBodyBytesInFlight). */
  heldBytes: () => number;
} {
  const stats: EventWorkerStats = { stored: 0, duplicates: 0, replayed: 0, transactionRetries: 0 };
  const { logger } = options;
  /** When the current database outage was first seen, or null while the database answers. */
  let outageSince: number | null = null;
  const writer = new BatchWriter({
    sql: options.sql,
    maxBatchSize: options.maxBatchSize ?? 256,
    maxConcurrentBatches: options.maxConcurrentBatches ?? 2,
    ...(options.handlers ? { handlers: options.handlers } : {}),
    ...(options.handlerTimeoutMs === undefined ? {} : { handlerTimeoutMs: options.handlerTimeoutMs }),
    ...(options.batchTimeoutMs === undefined ? {} : { batchTimeoutMs: options.batchTimeoutMs }),
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
    },
  });

  const processEvent = async (job: TakenJob) => {
    const event = readEventJob(job);
    let outcome: WriteOutcome;
    try {
      outcome = await writer.write(event);
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) {
        const now = Date.now();
        if (outageSince === null) {
          outageSince = now;
          logger.warn({ err: error.message }, 'events wait for the database, without spending attempts');
        }
        options.on?.outcome?.(event, 'waiting_for_database');
        throw new DelayJobError(now + outageDelayMs(now - outageSince));
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

  const lockDurationMs = options.lockDurationMs ?? 30_000;
  const worker = new BatchConsumer({
    connection: options.connection,
    queue: options.queue,
    process: processEvent,
    concurrency: options.concurrency,
    maxBytesInFlight: options.maxBodyBytesInFlight ?? DEFAULT_MAX_BODY_BYTES_IN_FLIGHT,
    lockDurationMs,
    // Look for a dead worker's jobs as often as its locks can expire.
    stalledIntervalMs: lockDurationMs,
    // A job is failed as stalled only after many lost locks: a slow machine must not dead-letter events.
    maxStalledCount: 10,
    keepCompleted: eventJobOptions.removeOnComplete,
  });
  worker.on('failed', (job: Job<unknown>, error: Error) => {
    const parsed = eventJobSchema.safeParse(job.data);
    if (parsed.success) options.on?.outcome?.(parsed.data, 'failed');
    logger.warn(
      {
        jobId: job.id,
        source: parsed.success ? parsed.data.source : undefined,
        attemptsMade: job.attemptsMade,
        err: error.message,
      },
      'event not stored',
    );
  });
  worker.on('error', (error: Error) => logger.warn({ err: error.message }, 'worker error'));
  worker.on('stalled', (jobId: string) =>
    logger.warn({ jobId }, 'job stalled: its worker lost it, it runs again'),
  );
  worker.on('lockLost', (jobId: string) =>
    logger.warn({ jobId }, 'job lock lost: another worker may run it (the event is stored once either way)'),
  );
  worker.run();
  return { worker, stats, heldBytes: () => worker.bytesInFlight };
}

/** A job's data as BullMQ stored it: JSON text that must still pass the event schema. */
function readEventJob(job: TakenJob): EventJob {
  let data: unknown;
  try {
    data = JSON.parse(job.data);
  } catch {
    throw new UnrecoverableError('invalid event in queue: data is not JSON');
  }
  return parseEventJob(data);
}
