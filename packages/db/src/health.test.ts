import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from './client.js';
import { isSchemaMissing } from './connection-errors.js';
import { checkEventsTable, pingDatabase } from './health.js';
import { migrate } from './migrate.js';
import { TestDatabase } from './test-database.js';

let database: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  database = await TestDatabase.create();
  sql = database.connect({ max: 1 });
});
afterAll(() => database.drop());

describe('database health checks', () => {
  it('answers a ping before migration, and finds the events table only after it', async () => {
    await expect(pingDatabase(sql)).resolves.toBeUndefined();
    const missing = await checkEventsTable(sql).then(
      () => null,
      (error: unknown) => error,
    );
    expect(isSchemaMissing(missing)).toBe(true);
    await migrate(sql);
    await expect(checkEventsTable(sql)).resolves.toBeUndefined();
  });

  it('rejects when the database cannot be reached', async () => {
    const gone = database.connect({ max: 1 });
    await gone.end();
    await expect(pingDatabase(gone)).rejects.toThrow();
  });
});
