import { getEvent, type Queryable, type ReplayPageCursor, readReplayPage, type StoredEvent } from '@inlet/db';
import { type EventJob, eventJobOptions, replayJobIdFor } from '@inlet/queue';
import type { Queue } from 'bullmq';
import { ReplayError } from './replay-error.js';

export interface ReplayDeps {
  readonly sql: Queryable;
  readonly queue: Queue<EventJob>;
}

export interface ReplayedEvent {
  readonly jobId: string;
  readonly source: string;
  readonly eventId: string;
}

export interface ReplayRangeOptions {
  readonly source: string;
  /** Inclusive. */
  readonly since: Date;
  /** Exclusive; by default the moment the replay starts, so events arriving meanwhile are left alone. */
  readonly until?: Date;
  /** Rows read and jobs added per round trip (default 500). */
  readonly batchSize?: number;
}

const DEFAULT_BATCH_SIZE = 500;
const MAX_BATCH_SIZE = 10_000;

type ReplayRow = Pick<StoredEvent, 'source' | 'event_id' | 'event_type' | 'headers' | 'body' | 'received_at'>;

/** The job that makes the worker process a stored event again, exactly as it was first received. */
export function eventJobFromRow(row: ReplayRow): EventJob {
  return {
    source: row.source,
    eventId: row.event_id,
    eventType: row.event_type,
    headers: row.headers,
    body: row.body,
    receivedAt: row.received_at.getTime(),
    replay: true,
  };
}

/**
 * Enqueues one stored event again, under a fresh jobId so BullMQ does not take it for the
 * original delivery. The worker then runs the source's handler again and moves `processed_at`.
 */
export async function replayEvent(deps: ReplayDeps, id: string): Promise<ReplayedEvent> {
  const row = await getEvent(deps.sql, id);
  if (row === null) throw new ReplayError('not_found', `no stored event has the id "${id.slice(0, 100)}"`);
  const jobId = replayJobIdFor(row.source, row.event_id);
  await deps.queue.add(row.source, eventJobFromRow(row), { ...eventJobOptions, jobId });
  return { jobId, source: row.source, eventId: row.event_id };
}

/**
 * Enqueues again every stored event of a source received in [since, until), oldest first. Rows are
 * walked by keyset on (received_at, id), never OFFSET, so each page costs the same however deep
 * the walk is; each page becomes one `addBulk`.
 */
export async function replayEvents(
  deps: ReplayDeps,
  options: ReplayRangeOptions,
): Promise<{ enqueued: number }> {
  const { source, since } = options;
  const until = options.until ?? new Date();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (source.length === 0) throw new ReplayError('invalid_input', 'a source is required');
  if (Number.isNaN(since.getTime()) || Number.isNaN(until.getTime())) {
    throw new ReplayError('invalid_input', 'since and until must be valid times');
  }
  if (until.getTime() <= since.getTime()) {
    throw new ReplayError('invalid_input', 'until must be later than since');
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new ReplayError(
      'invalid_input',
      `the batch size must be a whole number from 1 to ${MAX_BATCH_SIZE}`,
    );
  }

  let cursor: ReplayPageCursor | undefined;
  let enqueued = 0;
  for (;;) {
    const page = await readReplayPage(deps.sql, { source, since, until, after: cursor, limit: batchSize });
    if (page.length === 0) break;
    await deps.queue.addBulk(
      page.map((row) => ({
        name: row.source,
        data: eventJobFromRow(row),
        opts: { ...eventJobOptions, jobId: replayJobIdFor(row.source, row.event_id) },
      })),
    );
    enqueued += page.length;
    const last = page[page.length - 1];
    if (last !== undefined) cursor = { at: last.cursor_at, id: last.id };
    if (page.length < batchSize) break;
  }
  return { enqueued };
}
