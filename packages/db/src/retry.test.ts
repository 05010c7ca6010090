import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from './client.js';
import {
  isRetryableTxError,
  retryDelayMs,
  TransactionRetriesExhaustedError,
  withTransaction,
} from './retry.js';
import { TestDatabase } from './test-database.js';

let database: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  database = await TestDatabase.create();
  sql = database.connect({ max: 10 });
  await sql`CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL)`;
  await sql`CREATE TABLE required (v TEXT NOT NULL)`;
});

afterAll(async () => {
  await database?.drop();
});

const raiseSql = (sqlState: string) =>
  `DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '${sqlState}'; END $$`;

describe('isRetryableTxError', () => {
  it('accepts serialization failures, deadlocks and CockroachDB restarts', () => {
    expect(isRetryableTxError(Object.assign(new Error('could not serialize'), { code: '40001' }))).toBe(true);
    expect(isRetryableTxError(Object.assign(new Error('deadlock detected'), { code: '40P01' }))).toBe(true);
    expect(
      isRetryableTxError(
        new Error('restart transaction: TransactionRetryWithProtoRefreshError: WriteTooOld'),
      ),
    ).toBe(true);
  });

  it('rejects everything else', () => {
    expect(isRetryableTxError(Object.assign(new Error('null value'), { code: '23502' }))).toBe(false);
    expect(isRetryableTxError(new Error('connection refused'))).toBe(false);
    expect(isRetryableTxError(new Error('please restart transaction'))).toBe(false);
    expect(isRetryableTxError({ code: 40001 })).toBe(false);
    expect(isRetryableTxError(undefined)).toBe(false);
    expect(isRetryableTxError('40001')).toBe(false);
    const exhausted = new TransactionRetriesExhaustedError(
      Object.assign(new Error('x'), { code: '40001' }),
      3,
    );
    expect(isRetryableTxError(exhausted)).toBe(false);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base up to the maximum, scaled by the jitter', () => {
    const top = () => 1;
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, {}, top))).toEqual([10, 20, 40, 80]);
    expect(retryDelayMs(8, {}, top)).toBe(1000);
    expect(retryDelayMs(500, {}, top)).toBe(1000);
    expect(retryDelayMs(3, { baseDelayMs: 100, maxDelayMs: 250 }, top)).toBe(250);
    expect(retryDelayMs(3, {}, () => 0)).toBe(0);
    expect(retryDelayMs(3, {}, () => 0.5)).toBe(20);
  });
});

describe('withTransaction', () => {
  it('stops retrying once its signal is aborted: the caller has given up on the work', async () => {
    const abort = new AbortController();
    let calls = 0;
    const failure = await withTransaction(
      sql,
      async (tx) => {
        calls += 1;
        abort.abort();
        await tx.unsafe(raiseSql('40001'));
      },
      { signal: abort.signal, baseDelayMs: 1 },
    ).catch((error: unknown) => error);
    expect(calls).toBe(1);
    expect((failure as { code?: string }).code).toBe('40001');
  });

  it('retries real serialization failures until every increment lands', async () => {
    await sql`INSERT INTO counters (id, n) VALUES (1, 0)`;
    const retried: unknown[] = [];
    const increments = 50;

    await Promise.all(
      Array.from({ length: increments }, () =>
        withTransaction(
          sql,
          async (tx) => {
            const [row] = await tx<{ n: number }[]>`SELECT n FROM counters WHERE id = 1`;
            await tx`UPDATE counters SET n = ${(row?.n ?? 0) + 1} WHERE id = 1`;
          },
          // Generous bound: the point is that every increment commits, not how fast.
          { isolation: 'serializable', maxAttempts: 50, onRetry: (error) => retried.push(error) },
        ),
      ),
    );

    const [row] = await sql<{ n: number }[]>`SELECT n FROM counters WHERE id = 1`;
    expect(row?.n).toBe(increments);
    expect(retried.length).toBeGreaterThan(0);
    for (const error of retried) expect(error).toMatchObject({ code: '40001' });
  }, 60_000);

  it('retries the victim of a real deadlock', async () => {
    await sql`INSERT INTO counters (id, n) VALUES (10, 0), (11, 0)`;
    const retried: unknown[] = [];
    let arrived = 0;
    let releaseBoth: () => void = () => {};
    const bothHoldALock = new Promise<void>((resolve) => {
      releaseBoth = resolve;
    });
    const lockInOrder = (first: number, second: number) =>
      withTransaction(
        sql,
        async (tx) => {
          await tx`UPDATE counters SET n = n + 1 WHERE id = ${first}`;
          if (++arrived === 2) releaseBoth();
          await bothHoldALock;
          await tx`UPDATE counters SET n = n + 1 WHERE id = ${second}`;
        },
        { onRetry: (error) => retried.push(error) },
      );

    await Promise.all([lockInOrder(10, 11), lockInOrder(11, 10)]);

    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({ code: '40P01' });
    const rows = await sql<{ n: number }[]>`SELECT n FROM counters WHERE id IN (10, 11) ORDER BY id`;
    expect(rows.map((row) => row.n)).toEqual([2, 2]);
  }, 20_000);

  it('does not retry other errors', async () => {
    let calls = 0;
    let retries = 0;
    const attempt = withTransaction(
      sql,
      async (tx) => {
        calls++;
        await tx`INSERT INTO required (v) VALUES (${null})`;
      },
      { onRetry: () => retries++ },
    );
    await expect(attempt).rejects.toMatchObject({ code: '23502' });
    expect(calls).toBe(1);
    expect(retries).toBe(0);
  });

  it('gives up after maxAttempts with the last error as the cause', async () => {
    let calls = 0;
    const retriedAt: number[] = [];
    const error = await withTransaction(
      sql,
      async (tx) => {
        calls++;
        await tx`INSERT INTO counters (id, n) VALUES (${100 + calls}, 0)`;
        await tx.unsafe(raiseSql('40001'));
      },
      { maxAttempts: 3, baseDelayMs: 1, onRetry: (_error, attempt) => retriedAt.push(attempt) },
    ).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TransactionRetriesExhaustedError);
    expect(error).toMatchObject({ code: '40001', attempts: 3, cause: { code: '40001' } });
    expect(calls).toBe(3);
    expect(retriedAt).toEqual([1, 2]);
    // Every attempt was rolled back.
    const [row] = await sql<{ count: string }[]>`SELECT count(*) AS count FROM counters WHERE id > 100`;
    expect(row?.count).toBe('0');
  });

  it('returns the callback value, arrays included', async () => {
    let calls = 0;
    const result = await withTransaction(
      sql,
      async (tx) => {
        if (++calls === 1) await tx.unsafe(raiseSql('40P01'));
        return [1, 'two', { three: 3 }];
      },
      { baseDelayMs: 1 },
    );
    expect(result).toEqual([1, 'two', { three: 3 }]);
    expect(calls).toBe(2);
  });

  it('begins at the requested isolation level', async () => {
    const level = async (options: Parameters<typeof withTransaction>[2]) =>
      withTransaction(
        sql,
        async (tx) => {
          const [row] = await tx<{ transaction_isolation: string }[]>`SHOW transaction_isolation`;
          return row?.transaction_isolation;
        },
        options,
      );
    expect(await level({})).toBe('read committed');
    expect(await level({ isolation: 'serializable' })).toBe('serializable');
    expect(await level({ isolation: 'repeatable read' })).toBe('repeatable read');
  });

  it('rejects a nonsensical maxAttempts', async () => {
    await expect(withTransaction(sql, async () => 1, { maxAttempts: 0 })).rejects.toBeInstanceOf(RangeError);
  });
});
