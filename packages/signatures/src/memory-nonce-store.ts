import type { NonceStore } from './provider.js';

/** A NonceStore for one process (tests, the CLI); ingest uses the Redis one so instances share it. */
export function createMemoryNonceStore(now: () => number = Date.now): NonceStore {
  const expiries = new Map<string, number>();
  return {
    async claim(key, ttlSeconds) {
      const current = now();
      for (const [stored, expiry] of expiries) if (expiry <= current) expiries.delete(stored);
      if (expiries.has(key)) return false;
      expiries.set(key, current + ttlSeconds * 1000);
      return true;
    },
  };
}
