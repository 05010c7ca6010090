import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisRateLimitStore } from './rate-limit-store.js';
import { createRedis } from './redis.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `{rate-test-${process.pid}_${Math.random().toString(16).slice(2)}}`;

describe('RedisRateLimitStore with real Redis', () => {
  const redis = createRedis(redisUrl, 'producer');
  const store = createRedisRateLimitStore(redis, prefix);
  beforeAll(async () => {
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('adds reservations to one window that expires with the first one', async () => {
    expect(store.available).toBe(true);
    // A minute: a busy machine must not see the window end between these calls.
    const first = await store.reserve('github:1', 10, 60_000);
    expect(first.total).toBe(10);
    expect(first.resetInMs).toBeGreaterThan(30_000);
    expect(first.resetInMs).toBeLessThanOrEqual(60_000);
    const second = await store.reserve('github:1', 5, 60_000);
    expect(second.total).toBe(15);
    expect(second.resetInMs).toBeLessThanOrEqual(first.resetInMs);
    expect(await redis.pttl(`${prefix}:ratelimit:github:1`)).toBeGreaterThan(30_000);
    // Another key is another window.
    expect((await store.reserve('stripe:1', 1, 60_000)).total).toBe(1);
  });

  it('starts again from zero once the window has passed', async () => {
    await store.reserve('short:1', 3, 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await store.reserve('short:1', 2, 50)).total).toBe(2);
  });

  it('gives a counter left without an expiry one', async () => {
    await redis.set(`${prefix}:ratelimit:stuck:1`, '7');
    const count = await store.reserve('stuck:1', 1, 1000);
    expect(count.total).toBe(8);
    expect(await redis.pttl(`${prefix}:ratelimit:stuck:1`)).toBeGreaterThan(0);
  });
});
