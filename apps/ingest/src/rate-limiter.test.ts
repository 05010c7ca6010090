import { once } from 'node:events';
import { createRedis, createRedisRateLimitStore, type RedisRateLimitStore } from '@inlet/queue';
import { startRedisServer, testRedisUrl, uniqueName } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkSizeFor, type RateDecision, SourceRateLimiter } from './rate-limiter.js';

const redis = createRedis(testRedisUrl(), 'producer');

/** The real Redis store, counting the round trips it makes. */
function countingStore(prefix: string): RedisRateLimitStore & { calls: number } {
  const store = createRedisRateLimitStore(redis, prefix);
  const counted = {
    calls: 0,
    get available() {
      return store.available;
    },
    reserve(key: string, count: number, windowMs: number) {
      counted.calls += 1;
      return store.reserve(key, count, windowMs);
    },
  };
  return counted;
}

async function consumeMany(
  limiter: SourceRateLimiter,
  source: string,
  limit: { points: number; durationSeconds: number },
  count: number,
): Promise<RateDecision[]> {
  return Promise.all(Array.from({ length: count }, async () => limiter.consume(source, limit)));
}

const allowedIn = (decisions: RateDecision[]) => decisions.filter((d) => d.allowed).length;

describe('SourceRateLimiter with real Redis', () => {
  const prefixes: string[] = [];
  const newPrefix = () => {
    const prefix = `{${uniqueName('ratelimit-test')}}`;
    prefixes.push(prefix);
    return prefix;
  };

  beforeAll(async () => {
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  it('sizes chunks at a twentieth of the limit, between 1 and 100', () => {
    expect(chunkSizeFor({ points: 5, durationSeconds: 1 })).toBe(1);
    expect(chunkSizeFor({ points: 1000, durationSeconds: 1 })).toBe(50);
    expect(chunkSizeFor({ points: 1_000_000, durationSeconds: 1 })).toBe(100);
  });

  it('admits N points, then refuses with Retry-After until the window ends', async () => {
    const limiter = new SourceRateLimiter({ store: countingStore(newPrefix()) });
    const limit = { points: 5, durationSeconds: 2 };
    const decisions = [];
    for (let i = 0; i < 8; i += 1) decisions.push(await limiter.consume('github', limit));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    const refused = decisions[7];
    expect(refused?.allowed === false && refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused?.allowed === false && refused.retryAfterSeconds).toBeLessThanOrEqual(2);

    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await limiter.consume('github', limit)).allowed).toBe(true);
  });

  it('is shared by instances: two limiters on one Redis admit N together', async () => {
    const prefix = newPrefix();
    const one = new SourceRateLimiter({ store: countingStore(prefix) });
    const two = new SourceRateLimiter({ store: countingStore(prefix) });
    const limit = { points: 30, durationSeconds: 60 };
    const decisions = await Promise.all([
      consumeMany(one, 'stripe', limit, 25),
      consumeMany(two, 'stripe', limit, 25),
    ]);
    expect(allowedIn(decisions.flat())).toBe(30);
  });

  it('never admits more than N across instances with chunks, and asks Redis about once per chunk', async () => {
    const prefix = newPrefix();
    const stores = [countingStore(prefix), countingStore(prefix)];
    const [one, two] = stores.map((store) => new SourceRateLimiter({ store }));
    if (!one || !two) throw new Error('two limiters');
    const limit = { points: 1000, durationSeconds: 60 };
    const chunk = chunkSizeFor(limit);
    const decisions: RateDecision[] = [];
    // Interleaved, 50 at a time per instance, like two busy ingest processes.
    for (let round = 0; round < 15; round += 1) {
      const batch = await Promise.all([
        consumeMany(one, 'acme', limit, 50),
        consumeMany(two, 'acme', limit, 50),
      ]);
      decisions.push(...batch.flat());
    }
    const allowed = allowedIn(decisions);
    expect(allowed).toBeLessThanOrEqual(1000);
    // At most a chunk less one stranded in each instance.
    expect(allowed).toBeGreaterThanOrEqual(1000 - 2 * (chunk - 1));
    const calls = stores.reduce((sum, store) => sum + store.calls, 0);
    expect(calls).toBeLessThanOrEqual(1000 / chunk + 4);
  });

  it('keeps sources apart: a flooded source does not limit another', async () => {
    const limiter = new SourceRateLimiter({ store: countingStore(newPrefix()) });
    const limit = { points: 10, durationSeconds: 60 };
    expect(allowedIn(await consumeMany(limiter, 'flooded', limit, 200))).toBe(10);
    expect(allowedIn(await consumeMany(limiter, 'quiet', limit, 10))).toBe(10);
  });

  it('refuses locally once a window is spent: no more Redis round trips', async () => {
    const store = countingStore(newPrefix());
    const limiter = new SourceRateLimiter({ store });
    const limit = { points: 3, durationSeconds: 60 };
    await consumeMany(limiter, 'github', limit, 10);
    const calls = store.calls;
    const refused = await consumeMany(limiter, 'github', limit, 1000);
    expect(allowedIn(refused)).toBe(0);
    expect(store.calls).toBe(calls);
    // Refusals are decided synchronously, without waiting for anything.
    expect(limiter.consume('github', limit)).not.toBeInstanceOf(Promise);
  });

  it('fails open while Redis is away: counts per instance, reports it once', async () => {
    const server = await startRedisServer();
    const connection = createRedis(server.url, 'producer');
    const errors: string[] = [];
    try {
      if (connection.status !== 'ready') await once(connection, 'ready');
      const limiter = new SourceRateLimiter({
        store: createRedisRateLimitStore(connection, newPrefix()),
        onStoreError: (error) => errors.push(error.message),
      });
      const limit = { points: 4, durationSeconds: 60 };
      expect(allowedIn(await consumeMany(limiter, 'github', limit, 2))).toBe(2);
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The two already spent were in the shared window; this instance now counts alone, from zero.
      const during = [];
      for (let i = 0; i < 6; i += 1) during.push(await limiter.consume('other', limit));
      expect(allowedIn(during)).toBe(4);
      expect(errors).toHaveLength(1);
    } finally {
      connection.disconnect();
      await server.stop();
    }
  });
});
