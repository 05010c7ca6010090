import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sql } from './client.js';
import { countEvents, insertEvents, type NewEvent } from './events.js';
import { migrate } from './migrate.js';
import { countEventsToPrune, pruneEvents } from './prune.js';
import { TestDatabase } from './test-database.js';

let database: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  database = await TestDatabase.create();
  sql = database.connect();
  await migrate(sql);
});

afterAll(async () => {
  await database?.drop();
});

const DAY = 86_400_000;
const now = new Date('2026-11-22T12:00:00Z');

/** `count` events of `source`, received `daysAgo` days before `now`, a second apart. */
function events(source: string, daysAgo: number, count: number): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    source,
    eventId: `${source}_${daysAgo}d_${i}`,
    eventType: 'test.event',
    headers: {},
    body: '{}',
    payloadJson: '{}',
    receivedAt: new Date(now.getTime() - daysAgo * DAY + i * 1000),
  }));
}

beforeEach(async () => {
  await sql`DELETE FROM webhook_events`;
  await insertEvents(sql, [
    ...events('stripe', 100, 25),
    ...events('stripe', 10, 5),
    ...events('github', 100, 7),
    ...events('github', 1, 3),
  ]);
});

describe('pruneEvents', () => {
  it('deletes every event received before the instant, in batches, and nothing newer', async () => {
    const before = new Date(now.getTime() - 30 * DAY);
    expect(await countEventsToPrune(sql, { before })).toBe(32);
    const batches: Array<[number, number]> = [];
    const deleted = await pruneEvents(sql, {
      before,
      batchSize: 10,
      onBatch: (count, total) => batches.push([count, total]),
    });
    expect(deleted).toBe(32);
    expect(batches).toEqual([
      [10, 10],
      [10, 20],
      [10, 30],
      [2, 32],
    ]);
    expect(await countEvents(sql)).toBe(8);
    const [oldest] = await sql<
      { received_at: Date }[]
    >`SELECT min(received_at) AS received_at FROM webhook_events`;
    expect(oldest?.received_at.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(await countEventsToPrune(sql, { before })).toBe(0);
  });

  it('keeps to one source when given one', async () => {
    const before = new Date(now.getTime() - 30 * DAY);
    expect(await countEventsToPrune(sql, { before, source: 'github' })).toBe(7);
    expect(await pruneEvents(sql, { before, source: 'github' })).toBe(7);
    expect(await countEvents(sql, 'github')).toBe(3);
    expect(await countEvents(sql, 'stripe')).toBe(30);
  });

  it('takes the oldest first, so a run stopped between batches has kept the newer events', async () => {
    const before = new Date(now.getTime() - 5 * DAY);
    expect(await countEventsToPrune(sql, { before })).toBe(37);
    // Stopped (here by its callback throwing) once the first batch has committed.
    const stopped = pruneEvents(sql, {
      before,
      batchSize: 30,
      onBatch: () => {
        throw new Error('stopped');
      },
    });
    await expect(stopped).rejects.toThrow('stopped');
    // The 30 oldest went first: the 10-day-old stripe events are still among what is left to prune.
    expect(await countEventsToPrune(sql, { before })).toBe(7);
    const since = new Date(now.getTime() - 11 * DAY);
    const [recent] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM webhook_events WHERE received_at >= ${since}`;
    expect(recent?.n).toBe(5 + 3);
    // Run again, it finishes the job.
    expect(await pruneEvents(sql, { before })).toBe(7);
    expect(await countEvents(sql)).toBe(3);
  });

  it('deletes nothing when nothing is old enough, and refuses a batch size that is not a positive integer', async () => {
    expect(await pruneEvents(sql, { before: new Date(now.getTime() - 365 * DAY) })).toBe(0);
    expect(await countEvents(sql)).toBe(40);
    await expect(pruneEvents(sql, { before: now, batchSize: 0 })).rejects.toThrow(RangeError);
    await expect(pruneEvents(sql, { before: now, batchSize: 1.5 })).rejects.toThrow(RangeError);
  });
});
