import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql, TransactionSql } from './client.js';

export type IsolationLevel = 'serializable' | 'repeatable read' | 'read committed';

export interface RetryOptions {
  /** Attempts in all, the first included (default 10). */
  maxAttempts?: number;
  /** Backoff unit: the n-th retry waits up to `2^(n-1) * baseDelayMs` (default 10). */
  baseDelayMs?: number;
  /** Upper bound of one wait (default 1000). */
  maxDelayMs?: number;
  /** Called before each retry with the error and the number of the attempt that failed (from 1). */
  onRetry?: (error: unknown, attempt: number) => void;
  /** Once aborted, a retryable error is no longer retried: the caller has given up on the work. */
  signal?: AbortSignal;
}

export interface WithTransactionOptions extends RetryOptions {
  /** Begins with `ISOLATION LEVEL ...`; the server's default otherwise (CockroachDB: serializable). */
  isolation?: IsolationLevel;
}

const DEFAULT_MAX_ATTEMPTS = 10;
const DEFAULT_BASE_DELAY_MS = 10;
const DEFAULT_MAX_DELAY_MS = 1000;

/** The retryable error kept coming back until `maxAttempts` ran out. */
export class TransactionRetriesExhaustedError extends Error {
  override readonly name = 'TransactionRetriesExhaustedError';
  /** SQLSTATE of the last failure (`40001` for a CockroachDB `restart transaction` without one). */
  readonly code: string;
  readonly attempts: number;

  constructor(cause: unknown, attempts: number) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`transaction failed after ${attempts} attempts: ${message}`, { cause });
    this.code = sqlStateOf(cause) ?? '40001';
    this.attempts = attempts;
  }
}

/**
 * True for failures that a fresh run of the whole transaction can cure: serialization failures
 * (40001, which is also how CockroachDB reports contention), deadlocks (40P01), and CockroachDB's
 * `restart transaction` errors. An exhausted retry loop is not retryable again here: callers
 * further out (the queue) decide when to try later.
 */
export function isRetryableTxError(error: unknown): boolean {
  if (error instanceof TransactionRetriesExhaustedError) return false;
  const code = sqlStateOf(error);
  if (code === '40001' || code === '40P01') return true;
  return messageOf(error)?.startsWith('restart transaction') === true;
}

/**
 * Runs `fn` in a transaction and runs the whole transaction again on a retryable error, waiting
 * `random() * min(maxDelayMs, 2^(n-1) * baseDelayMs)` before the n-th retry (full jitter).
 * postgres.js has already rolled back when the error reaches us. Other errors propagate at once.
 * `fn` may run several times, so it must not have effects outside the transaction.
 */
export async function withTransaction<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => Promise<T>,
  options: WithTransactionOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const begin = options.isolation === undefined ? '' : `isolation level ${options.isolation}`;
  // Wrapping the result keeps postgres.js from awaiting the elements of an array result.
  const run = async (tx: TransactionSql) => ({ value: await fn(tx) });

  for (let attempt = 1; ; attempt++) {
    try {
      const { value } = await sql.begin(begin, run);
      return value;
    } catch (error) {
      if (!isRetryableTxError(error) || options.signal?.aborted) throw error;
      if (attempt >= maxAttempts) throw new TransactionRetriesExhaustedError(error, attempt);
      options.onRetry?.(error, attempt);
      await sleep(retryDelayMs(attempt, options));
      if (options.signal?.aborted) throw error;
    }
  }
}

/** The wait before retrying after failed attempt `attempt` (from 1). */
export function retryDelayMs(
  attempt: number,
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'> = {},
  random: () => number = Math.random,
): number {
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
  return random() * ceiling;
}

function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function messageOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('message' in error)) return undefined;
  return typeof error.message === 'string' ? error.message : undefined;
}
