import type { Redis } from 'ioredis';

/** A fixed window's counter after a reservation. */
export interface WindowCount {
  /** Points handed out in the window so far, this reservation included. */
  readonly total: number;
  /** Milliseconds until the window ends and its counter starts again from zero. */
  readonly resetInMs: number;
}

/**
 * Fixed-window counters shared by every ingest instance. `reserve` adds `count` points to the
 * window of `key` (starting one of `windowMs` if there is none) in one round trip.
 */
export interface RedisRateLimitStore {
  /** False while the connection is down: callers count locally instead of waiting for an error. */
  readonly available: boolean;
  reserve(key: string, count: number, windowMs: number): Promise<WindowCount>;
}

// One script so that the counter and its expiry are set together: a crash between INCRBY and
// PEXPIRE cannot leave a counter that never expires.
const RESERVE = `
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {total, ttl}`;

export function createRedisRateLimitStore(redis: Redis, prefix: string): RedisRateLimitStore {
  return {
    get available() {
      return redis.status === 'ready';
    },
    async reserve(key, count, windowMs) {
      const answer = await redis.eval(RESERVE, 1, `${prefix}:ratelimit:${key}`, count, windowMs);
      if (!Array.isArray(answer) || typeof answer[0] !== 'number' || typeof answer[1] !== 'number') {
        throw new Error('unexpected answer from the rate limit script');
      }
      return { total: answer[0], resetInMs: answer[1] };
    },
  };
}
