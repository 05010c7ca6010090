import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker';

export interface CreateRedisOptions extends RedisOptions {
  /**
   * PEM CA certificate(s) that sign Redis's certificate (REDIS_TLS_CA_FILE), trusted instead of the
   * system's. Only with a `rediss://` URL.
   */
  tlsCa?: string | Buffer | undefined;
}

/**
 * A Redis connection for one role. Producers fail fast while Redis is away (no offline queue, so an
 * HTTP request is answered 503 instead of hanging); workers wait for Redis as long as it takes.
 *
 * A `rediss://` URL makes ioredis connect with TLS, verifying the certificate chain and that the
 * certificate names the URL's host (Node's defaults, which `tlsCa` keeps).
 */
export function createRedis(url: string, role: RedisRole, options: CreateRedisOptions = {}): Redis {
  const { tlsCa, ...extra } = options;
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
  let tls: RedisOptions = {};
  if (tlsCa !== undefined) {
    // Given redis://, ioredis would take a `tls` option as a request for TLS: refuse the mix-up.
    if (!url.startsWith('rediss://')) throw new TypeError('a Redis TLS CA needs a rediss:// URL');
    tls = { tls: { ...extra.tls, ca: tlsCa } };
  }
  return new Redis(url, { ...common, ...byRole, ...extra, ...tls });
}

/**
 * Redis's `maxmemory-policy`, or null when this Redis will not say (a managed Redis may disable
 * CONFIG; INFO has it too). Anything but `noeviction` lets Redis delete queued events when its
 * memory is full.
 */
export async function evictionPolicy(connection: Redis): Promise<string | null> {
  try {
    const reply = (await connection.config('GET', 'maxmemory-policy')) as unknown;
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch {
    // CONFIG may be renamed or refused: ask INFO.
  }
  try {
    return /^maxmemory_policy:(\S+)/m.exec(await connection.info('memory'))?.[1] ?? null;
  } catch {
    return null;
  }
}

const EVICTION_WARNING =
  'Redis may evict queued events when its memory is full: set maxmemory-policy noeviction';

/**
 * Once the connection is up, says through `warn` when Redis may evict queued events: each time
 * it connects, since a failover can bring a Redis configured otherwise.
 */
export function watchEvictionPolicy(
  connection: Redis,
  warn: (policy: string, message: string) => void,
): void {
  const check = () => {
    evictionPolicy(connection).then(
      (policy) => {
        if (policy !== null && policy !== 'noeviction') warn(policy, EVICTION_WARNING);
      },
      () => {},
    );
  };
  connection.on('ready', check);
  if (connection.status === 'ready') check();
}
