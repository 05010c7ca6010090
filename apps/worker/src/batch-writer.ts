import {
  insertEvents,
  isConnectionError,
  isRetryableTxError,
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
  resolve(outcome: WriteOutcome): void;
  reject(error: unknown): void;
}

function toNewEvent(event: EventJob): NewEvent {
  return {
    source: event.source,
    eventId: event.eventId,
    eventType: event.eventType,
    headers: event.headers,
    body: event.body,
    payloadJson: payloadJsonFor(event.body, event.headers['content-type']),
    receivedAt: new Date(event.receivedAt),
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
      this.pending.push({ event, resolve, reject });
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
      if (isConnectionError(error)) {
        const unavailable = new DatabaseUnavailableError(
          `database unavailable: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
        for (const item of batch) item.reject(unavailable);
        return;
      }
      if (batch.length === 1) {
        batch[0]?.reject(error);
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
      fresh.map((index) => toNewEvent((batch[index] as Pending).event)),
    );
    for (const [position, index] of fresh.entries()) {
      const result = inserted[position];
      if (!result?.inserted || result.id === null) continue;
      outcomes[index] = 'stored';
      await this.runHandler(tx, (batch[index] as Pending).event, result.id, false);
    }
    for (const [index, item] of batch.entries()) {
      if (!item.event.replay) continue;
      outcomes[index] = await this.replay(tx, item.event);
    }
    return outcomes;
  }

  /** An explicit replay: the handler runs again and `processed_at` moves; a missing row is stored anew. */
  private async replay(tx: TransactionSql, event: EventJob): Promise<WriteOutcome> {
    const [row] = await tx<{ id: string }[]>`
      UPDATE webhook_events SET processed_at = now()
      WHERE source = ${event.source} AND event_id = ${event.eventId}
      RETURNING id`;
    if (row) {
      await this.runHandler(tx, event, row.id, true);
      return 'replayed';
    }
    const [stored] = await insertEvents(tx, [toNewEvent(event)]);
    if (stored?.inserted && stored.id !== null) await this.runHandler(tx, event, stored.id, true);
    return 'stored';
  }

  private async runHandler(tx: TransactionSql, event: EventJob, id: string, replay: boolean): Promise<void> {
    const handler = this.options.handlers?.get(event.source);
    if (!handler) return;
    const payloadJson = payloadJsonFor(event.body, event.headers['content-type']);
    const handlerEvent: HandlerEvent = {
      id,
      source: event.source,
      eventId: event.eventId,
      eventType: event.eventType,
      headers: event.headers,
      body: event.body,
      payload: payloadJson === null ? null : (JSON.parse(payloadJson) as unknown),
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

/** A source's handler threw: the event fails alone and is retried by the queue, then kept as failed. */
export class HandlerError extends Error {
  override readonly name = 'HandlerError';
  constructor(source: string, cause: unknown) {
    super(`handler of source ${source} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}
