import { insertEvent, payloadJsonFor, type Sql, withTransaction } from '@inlet/db';
import { type EventJob, eventJobSchema } from '@inlet/queue';
import { UnrecoverableError } from 'bullmq';

export interface StoreOptions {
  /** Called on each transaction retry after a serialization failure. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
  /** Isolation level for the storing transaction; CockroachDB always runs SERIALIZABLE. */
  readonly isolation?: 'serializable';
}

/** Reads a job's data back from Redis; data that fails its schema can never be stored. */
export function parseEventJob(data: unknown): EventJob {
  const parsed = eventJobSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnrecoverableError(
      `invalid event in queue: ${issue?.path.join('.') || 'data'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/**
 * Writes one event in a retryable transaction. Returns whether the row is new: a duplicate
 * delivery hits the unique constraint and changes nothing.
 */
export async function storeEvent(sql: Sql, event: EventJob, options: StoreOptions = {}): Promise<boolean> {
  const result = await withTransaction(
    sql,
    (tx) =>
      insertEvent(tx, {
        source: event.source,
        eventId: event.eventId,
        eventType: event.eventType,
        headers: event.headers,
        body: event.body,
        payloadJson: payloadJsonFor(event.body, event.headers['content-type']),
        receivedAt: new Date(event.receivedAt),
      }),
    {
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      ...(options.isolation ? { isolation: options.isolation } : {}),
    },
  );
  return result.inserted;
}
