import { z } from 'zod';
import type { Queryable, Sql } from './client.js';
import { withTransaction } from './retry.js';

export interface PruneSelection {
  /** Events received before this instant go. */
  readonly before: Date;
  /** Only this source's events; every source's when absent. */
  readonly source?: string;
}

export interface PruneOptions extends PruneSelection {
  /** Rows per transaction (default 1,000): short transactions that neither block nor retry long. */
  readonly batchSize?: number;
  /** Called after each committed batch, with the rows it deleted and the total so far. */
  readonly onBatch?: (deleted: number, total: number) => void;
}

const DEFAULT_BATCH_SIZE = 1000;
const countSchema = z.array(z.object({ n: z.coerce.number().int().nonnegative() })).length(1);

/**
 * Deletes the stored events received before `before` (of one source, or of all), oldest first, a
 * batch per transaction, until none is left; answers how many went. Each batch is a
 * `DELETE ... WHERE id IN (SELECT ... LIMIT n)`, which PostgreSQL and CockroachDB both run, and a
 * batch that meets contention is retried on its own. Safe to stop and run again: what it deleted
 * stays deleted, and the next run goes on from there.
 */
export async function pruneEvents(sql: Sql, options: PruneOptions): Promise<number> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  let total = 0;
  for (;;) {
    const deleted = await withTransaction(sql, async (tx) => {
      const result = await tx`
        DELETE FROM webhook_events WHERE id IN (
          SELECT id FROM webhook_events
          WHERE received_at < ${options.before} ${sourceFilter(tx, options.source)}
          ORDER BY received_at
          LIMIT ${batchSize})`;
      return result.count;
    });
    total += deleted;
    if (deleted > 0) options.onBatch?.(deleted, total);
    if (deleted < batchSize) return total;
  }
}

/** How many stored events `pruneEvents` would delete now. */
export async function countEventsToPrune(sql: Sql, selection: PruneSelection): Promise<number> {
  const rows = await sql`
    SELECT count(*) AS n FROM webhook_events
    WHERE received_at < ${selection.before} ${sourceFilter(sql, selection.source)}`;
  const [row] = countSchema.parse(rows);
  return row?.n ?? 0;
}

function sourceFilter(sql: Queryable, source: string | undefined) {
  return source === undefined ? sql`` : sql`AND source = ${source}`;
}
