import { ConfigError, IpRanges, loadSources } from '@inlet/config';
import {
  createEventQueue,
  createRedis,
  createRedisNonceStore,
  createRedisRateLimitStore,
  EventProducer,
  watchEvictionPolicy,
} from '@inlet/queue';
import { pino } from 'pino';
import { createApp } from './app.js';
import { BacklogMonitor } from './backlog-monitor.js';
import { BodyBudget } from './body-budget.js';
import { parseIngestEnv } from './env.js';
import { FailureLimiter } from './failure-limiter.js';
import { createIngestServer } from './ingest-server.js';
import { createIngestMetrics } from './metrics.js';
import { createMetricsApp } from './metrics-server.js';
import { atMostEvery } from './notice.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { SlowBodyGuard } from './slow-body-guard.js';

async function main(): Promise<void> {
  const env = parseIngestEnv();
  const logger = pino({ level: env.LOG_LEVEL, base: { app: 'ingest' } });
  const sources = await loadSources(env.INLET_SOURCES, { requireEnvSecrets: env.INLET_REQUIRE_ENV_SECRETS });
  const connection = createRedis(env.REDIS_URL, 'producer', { tlsCa: env.redisTls?.ca });
  const queue = createEventQueue(connection, { name: env.INLET_QUEUE, prefix: env.INLET_QUEUE_PREFIX });
  const producer = new EventProducer(queue, connection, {
    ackReplicas: env.INLET_ACK_REPLICAS,
    ackTimeoutMs: env.INLET_ACK_TIMEOUT_MS,
    onError: (error: NodeJS.ErrnoException) =>
      logger.warn({ err: error.message, code: error.code }, 'redis error'),
  });
  watchEvictionPolicy(connection, (policy, message) => logger.error({ maxmemoryPolicy: policy }, message));
  const nonces = createRedisNonceStore(connection, env.INLET_QUEUE_PREFIX);
  const rateLimiter = new SourceRateLimiter({
    store: createRedisRateLimitStore(connection, env.INLET_QUEUE_PREFIX),
    onStoreError: (error) =>
      logger.warn({ err: error.message }, 'rate limits counted per instance until Redis answers'),
  });
  const backlog = new BacklogMonitor({
    read: () => producer.backlog(),
    max: env.INLET_MAX_BACKLOG,
    onChange: (full, depth) =>
      full
        ? logger.warn({ depth, max: env.INLET_MAX_BACKLOG }, 'backlog full: refusing deliveries with 503')
        : logger.info({ depth, max: env.INLET_MAX_BACKLOG }, 'backlog below its bound: accepting again'),
  }).start();
  const bodyBudget = new BodyBudget(
    env.INLET_MAX_BODY_BYTES_IN_FLIGHT,
    atMostEvery((heldBytes: number) =>
      logger.warn(
        { heldBytes, max: env.INLET_MAX_BODY_BYTES_IN_FLIGHT },
        'request bodies in flight at their bound (or a client at its share): refusing deliveries with 503',
      ),
    ),
    { maxBytesPerClient: env.INLET_MAX_BODY_BYTES_PER_CLIENT },
  );
  const metrics = createIngestMetrics({ sources: sources.keys() });
  const slowBodyNotice = atMostEvery(() =>
    logger.warn(
      { timeoutMs: env.INLET_BODY_TIMEOUT_MS, minBytesPerSecond: env.INLET_MIN_BODY_BYTES_PER_SECOND },
      'cutting off request bodies that arrive too slowly (408)',
    ),
  );
  const slowBodyGuard = new SlowBodyGuard({
    timeoutMs: env.INLET_BODY_TIMEOUT_MS,
    minBytesPerSecond: env.INLET_MIN_BODY_BYTES_PER_SECOND,
    onCut: () => {
      metrics.slowBodyCut();
      slowBodyNotice();
    },
  }).start();
  const app = createApp({
    sources,
    producer,
    metrics,
    nonces,
    logger,
    rateLimiter,
    defaultRateLimit: env.INLET_RATE_LIMIT,
    trustedProxies: IpRanges.parse(env.INLET_TRUSTED_PROXIES),
    backlog,
    bodyBudget,
    slowBodyGuard,
    failureLimiter: new FailureLimiter({ limit: env.INLET_CLIENT_FAILURE_LIMIT }),
    publicMetrics: env.INLET_METRICS_PORT === undefined,
  });

  const server = createIngestServer(app.fetch, env.serverTls, { maxConnections: env.INLET_MAX_CONNECTIONS });
  const dropNotice = atMostEvery(() =>
    logger.warn(
      { max: env.INLET_MAX_CONNECTIONS },
      'connections at their bound: closing new ones as they arrive',
    ),
  );
  server.on('drop', () => {
    metrics.connectionDropped();
    dropNotice();
  });
  server.listen(env.PORT, () => {
    logger.info(
      { port: env.PORT, https: env.serverTls !== undefined, sources: [...sources.keys()] },
      'ingest listening',
    );
  });

  const metricsServer =
    env.INLET_METRICS_PORT === undefined ? undefined : createIngestServer(createMetricsApp(metrics).fetch);
  const metricsPort = env.INLET_METRICS_PORT;
  if (metricsServer && metricsPort !== undefined) {
    const listening = () =>
      logger.info(
        { port: metricsPort, host: env.INLET_METRICS_HOST ?? 'every interface' },
        'metrics listening',
      );
    if (env.INLET_METRICS_HOST === undefined) metricsServer.listen(metricsPort, listening);
    else metricsServer.listen(metricsPort, env.INLET_METRICS_HOST, listening);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ingest stopping');
    backlog.stop();
    slowBodyGuard.stop();
    metricsServer?.close();
    server.close(() => {
      producer.close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
    // Idle keep-alive connections would hold close() open.
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`inlet ingest: ${error.message}\n`);
  } else {
    process.stderr.write(
      `inlet ingest: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
