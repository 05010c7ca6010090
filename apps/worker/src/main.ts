import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { ConfigError, loadSources, type Sources } from '@inlet/config';
import { checkEventsTable, createSql, isPermissionDenied, isSchemaMissing, sslOptionsFor } from '@inlet/db';
import { createEventQueue, createRedis, watchEvictionPolicy } from '@inlet/queue';
import { pino } from 'pino';
import { parseWorkerEnv } from './env.js';
import { HandlerLoadError, loadHandlers } from './handlers.js';
import { createWorkerMetrics } from './metrics.js';
import { workerSessionSettings } from './session-settings.js';
import { shutDown } from './shutdown.js';
import { createEventWorker } from './worker.js';

const DEFAULT_SOURCES = './inlet.sources.json';

async function main(): Promise<void> {
  const env = parseWorkerEnv();
  const logger = pino({ level: env.LOG_LEVEL, base: { app: 'worker' } });
  // The worker reads the sources file for handlers only, so it needs none of the secrets.
  const sourcesFile = env.INLET_SOURCES ?? DEFAULT_SOURCES;
  const sources: Sources =
    env.INLET_SOURCES !== undefined || existsSync(sourcesFile)
      ? await loadSources(sourcesFile, { secrets: 'skip' })
      : new Map();
  const handlers = await loadHandlers(sources);

  const sql = createSql(env.DATABASE_URL, {
    max: Math.max(2, env.WORKER_BATCH_CONCURRENCY + 1),
    ssl: sslOptionsFor(env.DATABASE_URL, env.databaseTls?.ca),
    session: {
      ...workerSessionSettings(env.INLET_HANDLER_TIMEOUT_MS),
      ...(env.INLET_DB_INJECT_RETRY_ERRORS ? { inject_retry_errors_enabled: 'true' } : {}),
    },
  });
  // Jobs wait for the database either way; this says at once why it cannot be reached, such as a
  // certificate that does not verify, rather than when the first event arrives.
  checkEventsTable(sql).catch((error: NodeJS.ErrnoException) => {
    const fields = { err: error.message, code: error.code };
    if (isSchemaMissing(error)) {
      logger.error(fields, 'the events table is missing: run npm run migrate (events wait for it meanwhile)');
    } else if (isPermissionDenied(error)) {
      logger.error(fields, "the database role lacks the worker's grants: apply deploy/sql/grants.sql");
    } else {
      logger.error(fields, 'database unreachable');
    }
  });
  const connection = createRedis(env.REDIS_URL, 'worker', { tlsCa: env.redisTls?.ca });
  connection.on('error', (error: NodeJS.ErrnoException) =>
    logger.warn({ err: error.message, code: error.code }, 'redis connection error'),
  );
  watchEvictionPolicy(connection, (policy, message) => logger.error({ maxmemoryPolicy: policy }, message));
  const names = { name: env.INLET_QUEUE, prefix: env.INLET_QUEUE_PREFIX };
  const queue = createEventQueue(connection, names);
  queue.on('error', (error) => logger.warn({ err: error.message }, 'queue error'));
  const metrics = createWorkerMetrics({ queue, sources: new Set(sources.keys()) });
  const { worker, heldBytes } = createEventWorker({
    connection,
    queue: names,
    sql,
    logger,
    concurrency: env.WORKER_CONCURRENCY,
    maxBatchSize: env.WORKER_BATCH_SIZE,
    maxConcurrentBatches: env.WORKER_BATCH_CONCURRENCY,
    lockDurationMs: env.WORKER_LOCK_DURATION_MS,
    maxBodyBytesInFlight: env.WORKER_MAX_BODY_BYTES_IN_FLIGHT,
    handlers,
    handlerTimeoutMs: env.INLET_HANDLER_TIMEOUT_MS,
    ...(env.INLET_DB_ISOLATION === 'serializable' ? { isolation: 'serializable' as const } : {}),
    on: metrics,
  });
  metrics.trackJobBytesInFlight(heldBytes);

  const ready = async (): Promise<boolean> => {
    try {
      // Ready only once the events table is there: a worker on an unmigrated database stores nothing.
      const [pong] = await Promise.all([connection.ping(), checkEventsTable(sql)]);
      return pong === 'PONG';
    } catch {
      return false;
    }
  };
  const server = createServer((req, res) => {
    const respond = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type }).end(body);
    };
    if (req.url === '/healthz') return respond(200, '{"status":"ok"}');
    if (req.url === '/readyz') {
      void ready().then((ok) =>
        respond(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'unavailable' })),
      );
      return;
    }
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => respond(200, text, metrics.registry.contentType),
        () => respond(503, '{"error":{"code":"unavailable","message":"Metrics cannot be read now."}}'),
      );
      return;
    }
    respond(404, '{"error":{"code":"not_found","message":"There is nothing at this path."}}');
  });
  server.listen(env.WORKER_METRICS_PORT, () => {
    logger.info(
      { port: env.WORKER_METRICS_PORT, concurrency: env.WORKER_CONCURRENCY, handlers: [...handlers.keys()] },
      'worker running',
    );
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: env.INLET_SHUTDOWN_TIMEOUT_MS }, 'worker draining');
    // Should closing itself hang (Redis or the database gone mid-way), exit all the same.
    setTimeout(() => process.exit(0), env.INLET_SHUTDOWN_TIMEOUT_MS + 15_000).unref();
    const { forced, leftInFlight } = await shutDown({
      worker,
      queue,
      sql,
      connection,
      logger,
      timeoutMs: env.INLET_SHUTDOWN_TIMEOUT_MS,
    });
    server.close();
    logger.info({ forced, leftInFlight }, 'worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError || error instanceof HandlerLoadError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`inlet worker: ${message}\n`);
  process.exit(1);
});
