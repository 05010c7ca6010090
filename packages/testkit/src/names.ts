import { randomBytes } from 'node:crypto';

/** A name no other test run on this machine uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function testDatabaseServerUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** Queue name and prefix of one test: own keys, so parallel runs never see each other's jobs. */
export function uniqueQueue(): { name: string; prefix: string } {
  return { name: uniqueName('events'), prefix: `{${uniqueName('inlet-test')}}` };
}
