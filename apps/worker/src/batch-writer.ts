import {
  insertEvents,
  isConnectionError,
  isPayloadRefusal,
  isPermissionDenied,
  isRetryableTxError,
  isSchemaMissing,
  type NewEvent,
  payloadJsonFor,
  type Sql,
  withTransaction,
} from '@inlet/db';
import type { EventJob } from '@inlet/queue';
import { GuardedTransaction } from './guarded-transaction.js';
import type { Handler, HandlerEvent } from './handlers.js';

export interface BatchWriterOptions {
  readonly sql: Sql;
  /** Most events in one transaction. */
  readonly maxBatchSize: number;
  /** Transactions one process runs at once; further events wait and join the next batch. */
  readonly maxConcurrentBatches: number;
  readonly handlers?: ReadonlyMap<string, Handler>;
  /** Isolation for the storing transaction; CockroachDB always runs SERIALIZABLE. */
  readonly isolation?: 'serializable';
  /** Called on each transaction retry after a serialization failure. */
  readonly onRetry?: (error: unknown) => void;
  /** Called once per committed batch. */
  readonly onCommit?: (size: number) => void;
  /**
   * A transaction that makes no progress for this long, handlers' own time aside, is treated as
   * lost to an unreachable database (default 60 s): its running statement is cancelled, its events
   * go back to wait and its slot is freed. Should it commit after all, the retry finds the rows
   * there and changes nothing.
   */
  readonly batchTimeoutMs?: number;
  /**
   * How long a handler may take for one event (default 10 s). Past it the handler's statement is
   * cancelled, its transaction rolled back, and that event fails alone (the queue's attempts and
   * backoff, then the failed set); the other events of its batch are stored without it.
   */
  readonly handlerTimeoutMs?: number;
}

/** How long a handler may take for one event by default (INLET_HANDLER_TIMEOUT_MS). */
export const DEFAULT_HANDLER_TIMEOUT_MS = 10_000;

export type WriteOutcome = 'stored' | 'duplicate' | 'replayed';

/** The database cannot be reached: the event should wait and be tried again, without limit. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

/** Starts and stops the watchdog of one transaction; it does not run while a handler has the floor. */
interface Watchdog {
  pause(): void;
  arm(): void;
}

interface Pending {
  readonly event: EventJob;
  /** Set once the database refused the event's payload: it is then stored with none. */
  withoutPayload: boolean;
  resolve(outcome: WriteOutcome): void;
  reject(error: unknown): void;
}

/**
 * The payload text of an event, unchecked: the database parses it anyway, and a body it refuses
 * fails its batch, which is split until the event is alone and then stored without a payload.
 * Checking every body here first would cost a full JSON parse per event for what is very rare.
 */
function payloadOf(item: Pending): string | null {
  if (item.withoutPayload) return null;
  return payloadJsonFor(item.event.body, item.event.headers['content-type'], { check: false });
}

function toNewEvent(item: Pending): NewEvent {
  const { event } = item;
  return {
    source: event.source,
    eventId: event.eventId,
    eventType: event.eventType,
    eventTypeField: event.eventTypeField ?? null,
    headers: event.headers,
    body: event.body,
    payloadJson: payloadOf(item),
    receivedAt: new Date(event.receivedAt),
    contentSha256: event.contentSha256 ?? null,
  };
}

/**
 * Group commit: events handed to `write` while a transaction is running are written together by
 * the next one, many rows per `INSERT ... ON CONFLICT DO NOTHING`. A lone event is written at
 * once (nothing waits for a batch to fill). Each `write` settles only when its own row is
 * committed. When a batch fails for a reason other than contention or an unreachable database,
 * it is split in halves until the event at fault fails alone and its neighbours commit.
 */
export class BatchWriter {
  private readonly pending: Pending[] = [];
  private running = 0;

  constructor(private readonly options: BatchWriterOptions) {}

  write(event: EventJob): Promise<WriteOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, withoutPayload: false, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.options.maxConcurrentBatches && this.pending.length > 0) {
      const batch = this.pending.splice(0, this.options.maxBatchSize);
      this.running += 1;
      void this.commit(batch).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const timeoutMs = this.options.batchTimeoutMs ?? 60_000;
    const abort = new AbortController();
    let guard: GuardedTransaction | null = null;
    let timer: NodeJS.Timeout | undefined;
    let giveUp: (error: Error) => void = () => {};
    const stalled = new Promise<never>((_, reject) => {
      giveUp = reject;
    });
    const watchdog: Watchdog = {
      pause: () => clearTimeout(timer),
      arm: () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const error = new Error(`transaction made no progress for ${timeoutMs} ms`);
          Object.assign(error, { code: 'CONNECT_TIMEOUT' });
          // Give the connection back: cancel what runs on it, so that postgres.js can roll back.
          abort.abort(error);
          void guard?.close(error);
          giveUp(error);
        }, timeoutMs);
      },
    };
    let outcomes: WriteOutcome[];
    try {
      watchdog.arm();
      const transaction = withTransaction(
        this.options.sql,
        async (tx) => {
          const attempt = new GuardedTransaction(tx);
          guard = attempt;
          try {
            return await this.writeBatch(attempt, batch, watchdog);
          } finally {
            // A handler's query sent after this point would run on a connection back in the pool.
            attempt.seal();
          }
        },
        {
          signal: abort.signal,
          ...(this.options.isolation ? { isolation: this.options.isolation } : {}),
          ...(this.options.onRetry ? { onRetry: this.options.onRetry } : {}),
        },
      );
      transaction.catch(() => {});
      outcomes = await Promise.race([transaction, stalled]);
    } catch (error) {
      clearTimeout(timer);
      await this.fail(batch, error);
      return;
    }
    clearTimeout(timer);
    this.options.onCommit?.(batch.length);
    for (const [index, item] of batch.entries()) item.resolve(outcomes[index] ?? 'duplicate');
  }

  private async fail(batch: Pending[], error: unknown): Promise<void> {
    if (error instanceof HandlerError) {
      // The handler says which event is at fault: it fails alone, the others are written without it.
      const culprit = culprits.get(error);
      if (culprit !== undefined && batch.includes(culprit)) {
        culprit.reject(error);
        const rest = batch.filter((item) => item !== culprit);
        // A handler that hung may hang for its source's next events too: those go on in a batch
        // of their own, so that the other sources' events are stored at once, not one timeout later.
        const { source } = culprit.event;
        const suspects =
          error instanceof HandlerTimeoutError ? rest.filter((item) => item.event.source === source) : [];
        const others = suspects.length === 0 ? rest : rest.filter((item) => item.event.source !== source);
        await Promise.all(
          [others, suspects].filter((part) => part.length > 0).map((part) => this.commit(part)),
        );
        return;
      }
    }
    const waitReason = reasonToWait(error);
    if (waitReason !== null) {
      const unavailable = new DatabaseUnavailableError(waitReason, { cause: error });
      for (const item of batch) item.reject(unavailable);
      return;
    }
    const [only] = batch;
    if (only !== undefined && batch.length === 1) {
      if (isPayloadRefusal(error) && !only.withoutPayload && payloadOf(only) !== null) {
        // The body claims to be JSON the database will not take: keep the event, minus the payload.
        only.withoutPayload = true;
        await this.commit(batch);
        return;
      }
      only.reject(error);
      return;
    }
    // Find the event at fault: its neighbours must not fail with it.
    const middle = Math.ceil(batch.length / 2);
    await Promise.all([this.commit(batch.slice(0, middle)), this.commit(batch.slice(middle))]);
  }

  /** One transaction's work; runs again from the start if the transaction is retried. */
  private async writeBatch(
    guard: GuardedTransaction,
    batch: readonly Pending[],
    watchdog: Watchdog,
  ): Promise<WriteOutcome[]> {
    const tx = guard.sql;
    const outcomes: WriteOutcome[] = batch.map(() => 'duplicate');
    const fresh: number[] = [];
    batch.forEach((item, index) => {
      if (!item.event.replay) fresh.push(index);
    });
    const inserted = await insertEvents(
      tx,
      fresh.map((index) => toNewEvent(batch[index] as Pending)),
    );
    for (const [position, index] of fresh.entries()) {
      const result = inserted[position];
      if (!result?.inserted || result.id === null) continue;
      outcomes[index] = 'stored';
      await this.runHandler(guard, watchdog, batch[index] as Pending, result.id, false);
    }
    for (const [index, item] of batch.entries()) {
      if (!item.event.replay) continue;
      outcomes[index] = await this.replay(guard, watchdog, item);
    }
    return outcomes;
  }

  /** An explicit replay: the handler runs again and `processed_at` moves; a missing row is stored anew. */
  private async replay(guard: GuardedTransaction, watchdog: Watchdog, item: Pending): Promise<WriteOutcome> {
    const tx = guard.sql;
    const { event } = item;
    const [row] = await tx<{ id: string }[]>`
      UPDATE webhook_events SET processed_at = now()
      WHERE source = ${event.source} AND event_id = ${event.eventId}
      RETURNING id`;
    if (row) {
      await this.runHandler(guard, watchdog, item, row.id, true);
      return 'replayed';
    }
    const [stored] = await insertEvents(tx, [toNewEvent(item)]);
    if (stored?.inserted && stored.id !== null) await this.runHandler(guard, watchdog, item, stored.id, true);
    return 'stored';
  }

  private async runHandler(
    guard: GuardedTransaction,
    watchdog: Watchdog,
    item: Pending,
    id: string,
    replay: boolean,
  ): Promise<void> {
    const { event } = item;
    const handler = this.options.handlers?.get(event.source);
    if (!handler) return;
    const payload = parsePayload(payloadOf(item));
    const handlerEvent: HandlerEvent = {
      id,
      source: event.source,
      eventId: event.eventId,
      eventType: event.eventType ?? typeFromPayload(payload, event.eventTypeField),
      headers: event.headers,
      body: event.body,
      payload,
      receivedAt: new Date(event.receivedAt),
      replay,
    };
    const timeoutMs = this.options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed_out'>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), timeoutMs);
    });
    // The handler's own time limit stands in for the watchdog while it runs.
    watchdog.pause();
    try {
      const run = Promise.resolve().then(() => handler(handlerEvent, guard.sql));
      // A handler given up on may still fail later: nobody is waiting for it then.
      run.catch(() => {});
      const settled = await Promise.race([run.then(() => 'done' as const), timedOut]);
      if (settled === 'timed_out') {
        const error = new HandlerTimeoutError(event.source, timeoutMs);
        culprits.set(error, item);
        // Cancel its statement and refuse its later ones, so the transaction can roll back now.
        await guard.close(error);
        throw error;
      }
    } catch (error) {
      if (error instanceof HandlerTimeoutError && culprits.get(error) === item) throw error;
      // Only this transaction's own statements keep their class: a serialization failure is
      // retried, a lost connection waits for the database. Anything else a handler throws, such as
      // a fetch refused by some API or a message that reads like one of the database's, is the
      // handler's failure and spends one of the event's attempts.
      const own = guard.ownErrorIn(error);
      if (own !== undefined && (isRetryableTxError(own) || isConnectionError(own))) throw own;
      const failure = new HandlerError(event.source, error);
      culprits.set(failure, item);
      throw failure;
    } finally {
      clearTimeout(timer);
      watchdog.arm();
    }
  }
}

/**
 * Why the batch should wait for the database rather than fail, or null: it is away, or not set up
 * for the worker yet, which nothing the events could change. Our own statements only: a handler's
 * errors arrive wrapped in HandlerError.
 */
function reasonToWait(error: unknown): string | null {
  if (error instanceof HandlerError) return null;
  const reason = (error as Error).message;
  if (isConnectionError(error)) return `database unavailable: ${reason}`;
  if (isSchemaMissing(error)) return `database not migrated: ${reason} (run npm run migrate)`;
  if (isPermissionDenied(error)) {
    return `database role lacks the worker's privileges: ${reason} (apply deploy/sql/grants.sql)`;
  }
  // Our own statement ran past statement_timeout or lock_timeout: the database is overloaded, or
  // another transaction holds the event's row (it ends within its own timeouts).
  if (isStatementTimeout(error)) return `database too slow: ${reason}`;
  return null;
}

/** SQLSTATE 57014 (statement cancelled, statement_timeout) or 55P03 (lock_timeout). */
function isStatementTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '57014' || code === '55P03';
}

/** The event type as the insert reads it from the payload (see insertEvents): a top-level string. */
function typeFromPayload(payload: unknown, field: string | undefined): string | null {
  if (field === undefined || typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return null;
  }
  const value: unknown = Object.hasOwn(payload, field)
    ? (payload as Record<string, unknown>)[field]
    : undefined;
  return typeof value === 'string' ? value : null;
}

/** The handler sees what the database stored: the payload parsed, or null. */
function parsePayload(json: string | null): unknown {
  if (json === null) return null;
  try {
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** Which queued event a handler failure belongs to, so that it can fail alone. */
const culprits = new WeakMap<HandlerError, Pending>();

/** A source's handler threw: the event fails alone and is retried by the queue, then kept as failed. */
export class HandlerError extends Error {
  override readonly name: string = 'HandlerError';
  readonly code: 'handler_failed' | 'handler_timeout' = 'handler_failed';
  constructor(source: string, cause: unknown) {
    super(`handler of source ${source} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** A source's handler ran past INLET_HANDLER_TIMEOUT_MS: its transaction was rolled back. */
export class HandlerTimeoutError extends HandlerError {
  override readonly name = 'HandlerTimeoutError';
  override readonly code = 'handler_timeout';
  constructor(source: string, timeoutMs: number) {
    super(source, new Error(`did not finish within ${timeoutMs} ms (INLET_HANDLER_TIMEOUT_MS)`));
  }
}
