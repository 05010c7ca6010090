import { createServer as createHttpsServer } from 'node:https';
import { serve } from '@hono/node-server';
import { ConfigError, IpRanges } from '@inlet/config';
import { createSql, sslOptionsFor } from '@inlet/db';
import { createEventQueue, createRedis } from '@inlet/queue';
import { pino } from 'pino';
import { createApp } from './app.js';
import { ingestMetricsUrlFromEnv, parseDashboardEnv, usersFromEnv } from './env.js';

async function main(): Promise<void> {
  const env = parseDashboardEnv();
  const logger = pino({ level: env.LOG_LEVEL, base: { app: 'dashboard' } });
  const sql = createSql(env.DATABASE_URL, {
    max: 5,
    application_name: 'inlet-dashboard',
    ssl: sslOptionsFor(env.DATABASE_URL, env.databaseTls?.ca),
  });
  // Producer settings: a page asking Redis while it is away fails fast instead of hanging.
  const redis = createRedis(env.REDIS_URL, 'producer', { tlsCa: env.redisTls?.ca });
  redis.on('error', (error: NodeJS.ErrnoException) =>
    logger.warn({ err: error.message, code: error.code }, 'redis connection error'),
  );
  const queue = createEventQueue(redis, { name: env.INLET_QUEUE, prefix: env.INLET_QUEUE_PREFIX });
  queue.on('error', (error) => logger.warn({ err: error.message }, 'queue error'));
  const app = createApp({
    sql,
    queue,
    redis,
    logger,
    users: usersFromEnv(env),
    ingestMetricsUrl: ingestMetricsUrlFromEnv(env),
    trustedProxies: IpRanges.parse(env.INLET_TRUSTED_PROXIES),
  });

  const { serverTls } = env;
  // Basic auth sends the password with every request: with a certificate, only over HTTPS.
  const listen = serverTls
    ? {
        createServer: createHttpsServer,
        serverOptions: { cert: serverTls.cert, key: serverTls.key },
      }
    : {};
  const server = serve({ fetch: app.fetch, port: env.DASHBOARD_PORT, ...listen }, (info) => {
    logger.info(
      {
        port: info.port,
        https: serverTls !== undefined,
        queue: env.INLET_QUEUE,
        readonlyUser: env.DASHBOARD_READONLY_USER !== undefined,
      },
      'dashboard listening',
    );
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'dashboard stopping');
    server.close(() => {
      Promise.allSettled([queue.close(), sql.end({ timeout: 5 })]).finally(() => {
        redis.disconnect();
        process.exit(0);
      });
    });
    // Browsers keep connections open (Bull Board polls): close() would wait for them.
    if ('closeAllConnections' in server) server.closeAllConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`inlet dashboard: ${error.message}\n`);
  } else {
    process.stderr.write(
      `inlet dashboard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
