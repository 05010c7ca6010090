import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { countEvents, insertEvents } from '@inlet/db';
import { createTestDatabase, type TestDatabase } from '@inlet/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// The built CLI, as operators run it.
const cli = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const DAY = 86_400_000;

beforeEach(async () => {
  await database.sql`DELETE FROM webhook_events`;
  const at = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY);
  const event = (source: string, eventId: string, daysAgo: number) => ({
    source,
    eventId,
    eventType: null,
    headers: {},
    body: '{}',
    payloadJson: '{}',
    receivedAt: at(daysAgo),
  });
  await insertEvents(database.sql, [
    ...Array.from({ length: 12 }, (_, i) => event('stripe', `old_${i}`, 100 + i)),
    event('stripe', 'recent', 2),
    event('github', 'old', 120),
    event('github', 'recent', 1),
  ]);
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function inlet(...args: string[]): Promise<Run> {
  const env = { ...process.env, DATABASE_URL: database.url };
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('inlet prune', () => {
  it('says what a dry run would delete, and deletes nothing', async () => {
    const run = await inlet('prune', '--before', '90d', '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^would delete 13 events received before \d{4}-\d{2}-\d{2}T[\d:.]+Z\n$/);
    expect(await countEvents(database.sql)).toBe(15);
  });

  it('deletes the events received before the time, in batches, and keeps the newer ones', async () => {
    const run = await inlet('prune', '--before', '90d', '--batch-size', '5');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^deleted 13 events received before /);
    expect(run.stderr.trim().split('\n')).toEqual([
      'deleted 5 so far',
      'deleted 10 so far',
      'deleted 13 so far',
    ]);
    expect(await countEvents(database.sql)).toBe(2);
    expect(await countEvents(database.sql, 'github')).toBe(1);
  });

  it('keeps to one source with --source, and takes an ISO-8601 time', async () => {
    const before = new Date(Date.now() - 30 * DAY).toISOString();
    const run = await inlet('prune', '--before', before, '--source', 'github');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`deleted 1 events of source github received before ${before}\n`);
    expect(await countEvents(database.sql, 'github')).toBe(1);
    expect(await countEvents(database.sql, 'stripe')).toBe(13);
  });

  it.each([
    [[], /--before is required/],
    [['--before', 'last week'], /--before: /],
    [['--before', '2999-01-01T00:00:00Z'], /--before must not be in the future/],
    [['--before', '90d', '--batch-size', '0'], /--batch-size must be a whole number from 1 to 10000/],
    [['--before', '90d', '--sauce', 'x'], /Unknown option '--sauce'/],
  ])('refuses %j as a usage error (exit 2), deleting nothing', async (args, message) => {
    const run = await inlet('prune', ...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(await countEvents(database.sql)).toBe(15);
  });

  it('prints its usage with --help', async () => {
    const run = await inlet('prune', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: inlet prune --before TIME');
  });
});
