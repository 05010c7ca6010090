import { createTestDatabase, type TestDatabase } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedTransaction, TransactionClosedError } from './guarded-transaction.js';

describe('GuardedTransaction', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
    await db.sql`CREATE TABLE notes (n INT)`;
  });
  afterAll(async () => {
    await db.drop();
  });

  it('behaves as the transaction it guards: fragments, helpers, unsafe and savepoints', async () => {
    const count = await db.sql.begin(async (tx) => {
      const { sql } = new GuardedTransaction(tx);
      const where = sql`WHERE n > ${0}`;
      await sql`INSERT INTO notes ${sql([{ n: 1 }, { n: 2 }])}`;
      await sql.unsafe('INSERT INTO notes VALUES ($1)', [3]);
      await sql.savepoint(async (inner) => {
        await inner`INSERT INTO notes VALUES (4)`;
      });
      const [row] = await sql<{ c: number }[]>`SELECT count(*)::int AS c FROM notes ${where}`;
      return row?.c;
    });
    expect(count).toBe(4);
  });

  it('refuses every way of sending a query once closed, and tells its own errors from others', async () => {
    const rollBack = new Error('roll back');
    const outcome = await db.sql
      .begin(async (tx) => {
        const guard = new GuardedTransaction(tx);
        const { sql } = guard;
        const own = await sql`SELECT 1/0`.catch((error: unknown) => error);
        expect(guard.ownErrorIn(own)).toBe(own);
        expect(guard.ownErrorIn(new Error('wrapped', { cause: own }))).toBe(own);
        const lookalike = Object.assign(new Error('restart transaction: not ours'), { code: '40001' });
        expect(guard.ownErrorIn(lookalike)).toBeUndefined();
        expect(
          guard.ownErrorIn(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })),
        ).toBeUndefined();
        await guard.close(new TransactionClosedError('over'));
        expect(() => sql`SELECT 1`).toThrow(TransactionClosedError);
        expect(() => sql.unsafe('SELECT 1')).toThrow(TransactionClosedError);
        expect(() => sql.savepoint(async () => {})).toThrow(TransactionClosedError);
        throw rollBack;
      })
      .catch((error: unknown) => error);
    // Only the deliberate roll-back ends it: a failed expectation inside would show here.
    expect(outcome).toBe(rollBack);
  });
});
