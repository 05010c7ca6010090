import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchQueue } from './bench-queue.js';
import type { NodeChild } from './child-process.js';

const POLL_MS = 100;

export interface DrainOptions {
  /** Fail when the completed count has not moved for this long. */
  readonly stallTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Called once, when the first completions are seen, with how many there are: the start of the
   * window in which the drain, and not the child's start-up, uses the CPU.
   */
  readonly onFirstCompletion?: (completed: number) => Promise<void>;
}

export interface DrainResult {
  /** Completions per second from the first completed job to the last, rounded. */
  perSecond: number;
  /** From the first completed job to the last. */
  seconds: number;
  peakRssMb: number | null;
}

/**
 * Waits until `expected` jobs have completed while `child` drains the queue. The rate comes from the
 * completion times BullMQ records (a job completes once its processor resolved, that is after its
 * row is committed), so it does not depend on when the harness happens to poll.
 */
export async function waitForDrain(
  queue: BenchQueue,
  child: NodeChild,
  expected: number,
  options: DrainOptions = {},
): Promise<DrainResult> {
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  let peakRssMb: number | null = null;
  let lastCompleted = -1;
  let lastProgressAt = Date.now();
  for (;;) {
    options.signal?.throwIfAborted();
    if (child.exited) throw new Error(`it exited before the queue was drained:\n${child.outputTail}`);
    const progress = await queue.progress();
    const rss = child.peakRssMb();
    if (rss !== null) peakRssMb = Math.max(peakRssMb ?? 0, rss);
    if (progress.failed > 0) {
      throw new Error(`${progress.failed} jobs failed:\n${child.outputTail}`);
    }
    if (progress.completed > 0 && lastCompleted <= 0) await options.onFirstCompletion?.(progress.completed);
    if (progress.completed >= expected) break;
    if (progress.completed !== lastCompleted) {
      lastCompleted = progress.completed;
      lastProgressAt = Date.now();
    } else if (Date.now() - lastProgressAt > stallTimeoutMs) {
      throw new Error(
        `no job completed for ${stallTimeoutMs / 1000} s (${progress.completed} of ${expected} completed, ` +
          `${progress.pending} pending):\n${child.outputTail}`,
      );
    }
    await sleep(POLL_MS, undefined, options.signal ? { signal: options.signal } : {});
  }
  const span = await queue.completionSpan();
  if (span.count !== expected) throw new Error(`${span.count} jobs completed, ${expected} expected`);
  const seconds = Math.max(span.lastMs - span.firstMs, 1) / 1000;
  return { perSecond: Math.round((span.count - 1) / seconds), seconds, peakRssMb };
}
