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
  type TransactionSql,
  withTransaction,
} from '@inlet/db';
import type { EventJob } from '@inlet/queue';
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
   * A transaction still unsettled after this long is treated as lost to an unreachable database
   * (default 60 s): its events go back to wait and its slot is freed. Should it commit after all,
   * the retry finds the rows there and changes nothing.
   */
  readonly batchTimeoutMs?: number;
}

export type WriteOutcome = 'stored' | 'duplicate' | 'replayed';

/** The database cannot be reached: the event should wait and be tried again, without limit. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
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
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.options.batchTimeoutMs ?? 60_000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`transaction unsettled after ${timeoutMs} ms`);
        reject(Object.assign(error, { code: 'CONNECT_TIMEOUT' }));
      }, timeoutMs);
    });
    try {
      const transaction = withTransaction(this.options.sql, (tx) => this.writeBatch(tx, batch), {
        ...(this.options.isolation ? { isolation: this.options.isolation } : {}),
        ...(this.options.onRetry ? { onRetry: this.options.onRetry } : {}),
      });
      transaction.catch(() => {});
      const outcomes = await Promise.race([transaction, timeout]);
      this.options.onCommit?.(batch.length);
      for (const [index, item] of batch.entries()) item.resolve(outcomes[index] ?? 'duplicate');
    } catch (error) {
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
    } finally {
      clearTimeout(timer);
    }
  }

  /** One transaction's work; runs again from the start if the transaction is retried. */
  private async writeBatch(tx: TransactionSql, batch: readonly Pending[]): Promise<WriteOutcome[]> {
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
      await this.runHandler(tx, batch[index] as Pending, result.id, false);
    }
    for (const [index, item] of batch.entries()) {
      if (!item.event.replay) continue;
      outcomes[index] = await this.replay(tx, item);
    }
    return outcomes;
  }

  /** An explicit replay: the handler runs again and `processed_at` moves; a missing row is stored anew. */
  private async replay(tx: TransactionSql, item: Pending): Promise<WriteOutcome> {
    const { event } = item;
    const [row] = await tx<{ id: string }[]>`
      UPDATE webhook_events SET processed_at = now()
      WHERE source = ${event.source} AND event_id = ${event.eventId}
      RETURNING id`;
    if (row) {
      await this.runHandler(tx, item, row.id, true);
      return 'replayed';
    }
    const [stored] = await insertEvents(tx, [toNewEvent(item)]);
    if (stored?.inserted && stored.id !== null) await this.runHandler(tx, item, stored.id, true);
    return 'stored';
  }

  private async runHandler(tx: TransactionSql, item: Pending, id: string, replay: boolean): Promise<void> {
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
    try {
      await handler(handlerEvent, tx);
    } catch (error) {
      // Contention and outages inside the handler's own statements keep their class, so the
      // transaction is retried or the event waits for the database like any other.
      if (isRetryableTxError(error) || isConnectionError(error)) throw error;
      throw new HandlerError(event.source, error);
    }
  }
}

/**
 * Why the batch should wait for the database rather than fail, or null: it is away, or not set up
 * for the worker yet, which nothing the events could change. Our own statements only: a handler's
 * errors arrive wrapped in HandlerError.
 */
function reasonToWait(error: unknown): string | null {
  const reason = (error as Error).message;
  if (isConnectionError(error)) return `database unavailable: ${reason}`;
  if (isSchemaMissing(error)) return `database not migrated: ${reason} (run npm run migrate)`;
  if (isPermissionDenied(error)) {
    return `database role lacks the worker's privileges: ${reason} (apply deploy/sql/grants.sql)`;
  }
  return null;
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

/** A source's handler threw: the event fails alone and is retried by the queue, then kept as failed. */
export class HandlerError extends Error {
  override readonly name = 'HandlerError';
  constructor(source: string, cause: unknown) {
    super(`handler of source ${source} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}
