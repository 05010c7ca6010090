import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker';

/**
 * A Redis connection for one role. Producers fail fast while Redis is away (no offline queue, so an
 * HTTP request is answered 503 instead of hanging); workers wait for Redis as long as it takes.
 */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    connectionName: `inlet-${role}`,
    // Reconnect quickly at first, then every 2 s, forever.
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2000),
    connectTimeout: 5000,
  };
  const byRole: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 5000 }
      : { maxRetriesPerRequest: null };
  return new Redis(url, { ...common, ...byRole, ...extra });
}
