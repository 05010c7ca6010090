import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './database.js';
import { startRedisServer } from './processes.js';

describe('startRedisServer', () => {
  it('starts, kills and restarts a private redis-server', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url, {
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
      lazyConnect: true,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
      await server.kill();
      await expect(client.ping()).rejects.toThrow();
      await server.start();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('with appendfsync always, keeps every acknowledged write across a SIGKILL', async () => {
    const server = await startRedisServer({ appendfsync: 'always' });
    const client = new Redis(server.url, {
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
      lazyConnect: true,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      for (let i = 0; i < 100; i += 1) await client.rpush('acknowledged', String(i));
      await server.kill();
      await server.start();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await client.llen('acknowledged')).toBe(100);
    } finally {
      client.disconnect();
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });
});

describe('createTestDatabase', () => {
  it('creates a migrated database of its own and drops it', async () => {
    const db = await createTestDatabase();
    const tables = await db.sql<{ n: number }[]>`
      select count(*)::int as n from information_schema.tables where table_name = 'webhook_events'`;
    expect(tables[0]?.n).toBe(1);
    await db.drop();
  });
});
