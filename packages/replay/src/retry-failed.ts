import type { EventJob } from '@inlet/queue';
import type { Queue } from 'bullmq';
import { ReplayError } from './replay-error.js';

export interface RetryFailedOptions {
  /** Failed jobs read and moved per round of Redis calls (default 500). */
  readonly batchSize?: number;
  /** Called after each batch, so a long retry can report how far it got. */
  readonly onProgress?: (progress: RetryFailedProgress) => void;
}

export interface RetryFailedProgress {
  /** Failed jobs when the walk started: the most it will look at. */
  readonly total: number;
  /** Jobs looked at so far. */
  readonly seen: number;
  /** Jobs moved back to waiting so far. */
  readonly retried: number;
}

const DEFAULT_BATCH_SIZE = 500;
const MAX_BATCH_SIZE = 10_000;

/**
 * Moves the jobs in the failed set (the dead-letter queue) back to waiting, oldest first, each with
 * its attempts reset so it gets the full retry schedule again. The walk covers as many jobs as were
 * failed when it started: jobs that fail again meanwhile are left for the next call, so it always
 * ends. A job that cannot be moved (its data gone from Redis) stays failed and is passed over.
 */
export async function retryFailed(
  queue: Queue<EventJob>,
  options: RetryFailedOptions = {},
): Promise<{ retried: number }> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new ReplayError(
      'invalid_input',
      `the batch size must be a whole number from 1 to ${MAX_BATCH_SIZE}`,
    );
  }
  const total = await queue.getFailedCount();
  let retried = 0;
  // Failed jobs this call could not move: they stay at the head of the set, so pages start after them.
  let passedOver = 0;
  // Every job looked at counts towards the bound, also one someone else moved meanwhile.
  let seen = 0;
  while (seen < total) {
    const take = Math.min(batchSize, total - seen);
    const ids = await queue.getRanges(['failed'], passedOver, passedOver + take - 1, true);
    if (ids.length === 0) break;
    const outcomes = await Promise.all(ids.map((id) => retryOne(queue, id)));
    seen += outcomes.length;
    retried += outcomes.filter((outcome) => outcome === 'retried').length;
    passedOver += outcomes.filter((outcome) => outcome === 'still-failed').length;
    options.onProgress?.({ total, seen, retried });
  }
  return { retried };
}

type Outcome = 'retried' | 'still-failed' | 'gone';

async function retryOne(queue: Queue<EventJob>, id: string): Promise<Outcome> {
  try {
    const job = await queue.getJob(id);
    if (job !== undefined) {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return 'retried';
    }
  } catch {
    // Moved or removed by someone else meanwhile, or not movable: the state says which.
  }
  return (await queue.getJobState(id)) === 'failed' ? 'still-failed' : 'gone';
}
