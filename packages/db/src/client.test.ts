import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Notice } from './client.js';
import { TestDatabase } from './test-database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await TestDatabase.create();
});

afterAll(async () => {
  await database?.drop();
});

it('sends undefined as NULL', async () => {
  const sql = database.connect();
  await sql`CREATE TABLE optional (a INT NOT NULL, b TEXT)`;
  const row: { a: number; b?: string } = { a: 1 };
  await sql`INSERT INTO optional ${sql({ ...row, b: row.b }, 'a', 'b')}`;
  const [stored] = await sql<{ a: number; b: string | null }[]>`SELECT a, b FROM optional`;
  expect(stored).toEqual({ a: 1, b: null });
});

it('names its connections', async () => {
  const sql = database.connect({ application_name: 'inlet-test' });
  const [row] = await sql<{ application_name: string }[]>`SHOW application_name`;
  expect(row?.application_name).toBe('inlet-test');
});

it('forwards notices except the ones IF [NOT] EXISTS emits', async () => {
  const notices: Notice[] = [];
  const sql = database.connect({ max: 1, onnotice: (notice) => notices.push(notice) });
  await sql`CREATE TABLE IF NOT EXISTS noisy (id INT)`;
  await sql`CREATE TABLE IF NOT EXISTS noisy (id INT)`;
  await sql`DROP TABLE IF EXISTS missing`;
  await sql`DO $$ BEGIN RAISE NOTICE 'worth reading'; END $$`;
  expect(notices.map((notice) => notice.message)).toEqual(['worth reading']);
});
