import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The NonceStore shape of @inlet/signatures, kept structural so this package needs no import of it. */
export interface RedisNonceStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
}

/**
 * Single-use values shared by every ingest instance: `SET key NX EX ttl` claims a key once. Keys
 * are hashed, so a hostile value cannot make a huge or odd Redis key.
 */
export function createRedisNonceStore(redis: Redis, prefix: string): RedisNonceStore {
  return {
    async claim(key, ttlSeconds) {
      const digest = createHash('sha256').update(key).digest('base64url');
      const ttl = Math.max(1, Math.ceil(ttlSeconds));
      const answer = await redis.set(`${prefix}:nonce:${digest}`, '1', 'EX', ttl, 'NX');
      return answer === 'OK';
    },
  };
}
