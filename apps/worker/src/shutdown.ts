import type { Sql } from '@inlet/db';
import type { BatchConsumer } from '@inlet/queue';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface ShutdownOptions {
  readonly worker: BatchConsumer;
  readonly queue: Queue;
  readonly sql: Sql;
  readonly connection: Redis;
  readonly logger: Logger;
  /** How long the jobs in flight may take to finish (INLET_SHUTDOWN_TIMEOUT_MS). */
  readonly timeoutMs: number;
}

export interface ShutdownResult {
  /** True when the deadline passed with jobs still in flight. */
  readonly forced: boolean;
  /** Jobs left in flight (they come back through BullMQ's stalled-job check). */
  readonly leftInFlight: number;
}

/**
 * Stops taking jobs and waits for those in flight, up to `timeoutMs`. Past it the worker closes
 * anyway: the jobs still in flight keep their place in Redis (active, with a lock that is no longer
 * renewed), so the stalled-job check of any worker puts them back to wait once the lock expires,
 * and their transactions are cut off, so nothing of them is committed twice.
 */
export async function shutDown(options: ShutdownOptions): Promise<ShutdownResult> {
  const { worker, logger } = options;
  let forced = false;
  const deadline = setTimeout(() => {
    forced = true;
    logger.warn(
      { inFlight: worker.inFlight, timeoutMs: options.timeoutMs },
      'shutdown deadline passed: closing with jobs in flight; they run again after their lock expires',
    );
    void worker.close(true);
  }, options.timeoutMs);
  try {
    // Without Redis none of the jobs in flight could be completed, and waiting would last as long
    // as Redis is away (a wrong REDIS_TLS_CA_FILE, say): close at once, their jobs come back later.
    await worker.close(options.connection.status !== 'ready');
  } finally {
    clearTimeout(deadline);
  }
  const leftInFlight = worker.inFlight;
  await options.queue.close();
  // Cut the transactions still open: a commit is all or nothing, and the retry dedupes.
  await options.sql.end({ timeout: forced ? 0 : 5 });
  options.connection.disconnect();
  return { forced, leftInFlight };
}
