import { startRedisServer } from '@inlet/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedis, evictionPolicy, watchEvictionPolicy } from './redis.js';

// Connecting over TLS to a real redis-server is test/tls.test.ts's job; these pin the options.
describe('createRedis with TLS', () => {
  it('connects with TLS for rediss://, trusting the CA it is given', () => {
    const plain = createRedis('rediss://redis.internal:6380', 'producer', { lazyConnect: true });
    // ioredis turns rediss:// into `tls: true`: Node's defaults verify the chain and the host.
    expect(plain.options.tls).toBe(true);
    const withCa = createRedis('rediss://redis.internal:6380', 'worker', { lazyConnect: true, tlsCa: 'PEM' });
    expect(withCa.options.tls).toEqual({ ca: 'PEM' });
    expect(withCa.options.host).toBe('redis.internal');
    expect(withCa.options.maxRetriesPerRequest).toBeNull();
    for (const client of [plain, withCa]) client.disconnect();
  });

  it('refuses a CA with a plain redis:// URL', () => {
    expect(() =>
      createRedis('redis://127.0.0.1:6379', 'producer', { lazyConnect: true, tlsCa: 'PEM' }),
    ).toThrow(/rediss:\/\//);
  });
});

describe('the eviction policy', () => {
  it('is read from CONFIG, or from INFO where CONFIG is refused, and watched on every connect', async () => {
    const server = await startRedisServer();
    const admin = new Redis(server.url);
    const connection = createRedis(server.url, 'worker');
    const warned: string[] = [];
    try {
      watchEvictionPolicy(connection, (policy) => warned.push(policy));
      expect(await evictionPolicy(connection)).toBe('noeviction');

      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      expect(await evictionPolicy(connection)).toBe('allkeys-lru');
      // A reconnect, as after a failover, checks again.
      connection.disconnect(true);
      await expect.poll(() => warned, { timeout: 5000 }).toEqual(['allkeys-lru']);

      // A client that may not run CONFIG still learns the policy from INFO.
      await admin.call('ACL', 'SETUSER', 'reader', 'on', 'nopass', '~*', '+@all', '-config');
      const reader = new Redis(server.url, { username: 'reader', password: 'x' });
      try {
        await expect(reader.config('GET', 'maxmemory-policy')).rejects.toThrow(/NOPERM/);
        expect(await evictionPolicy(reader)).toBe('allkeys-lru');
      } finally {
        reader.disconnect();
      }
    } finally {
      connection.disconnect();
      admin.disconnect();
      await server.stop();
    }
  });
});
