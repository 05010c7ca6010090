import { createSql } from '@inlet/db';
import { createTestDatabase } from '@inlet/testkit';
import { describe, expect, it } from 'vitest';
import { workerSessionSettings } from './session-settings.js';

describe('worker session settings', () => {
  it('derive the server-side timeouts from the handler timeout, a grace later', () => {
    expect(workerSessionSettings(10_000)).toEqual({
      statement_timeout: '15000',
      lock_timeout: '15000',
      idle_in_transaction_session_timeout: '15000',
    });
    expect(workerSessionSettings(500).statement_timeout).toBe('1500');
  });

  it('reach the server as connection parameters', async () => {
    const db = await createTestDatabase({ migrate: false });
    const sql = createSql(db.url, { max: 1, session: workerSessionSettings(2000) });
    try {
      const [row] = await sql<{ statement: string; lock: string; idle: string }[]>`
        SELECT current_setting('statement_timeout') AS statement,
               current_setting('lock_timeout') AS lock,
               current_setting('idle_in_transaction_session_timeout') AS idle`;
      expect(row).toEqual({ statement: '3s', lock: '3s', idle: '3s' });
    } finally {
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  });
});
