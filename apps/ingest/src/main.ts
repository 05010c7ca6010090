import { serve } from '@hono/node-server';
import { ConfigError, loadSources } from '@inlet/config';
import { createEventQueue, createRedis, createRedisNonceStore, EventProducer } from '@inlet/queue';
import { pino } from 'pino';
import { createApp } from './app.js';
import { parseIngestEnv } from './env.js';

async function main(): Promise<void> {
  const env = parseIngestEnv();
  const logger = pino({ level: env.LOG_LEVEL, base: { app: 'ingest' } });
  const sources = await loadSources(env.INLET_SOURCES);
  const connection = createRedis(env.REDIS_URL, 'producer');
  const queue = createEventQueue(connection, { name: env.INLET_QUEUE, prefix: env.INLET_QUEUE_PREFIX });
  const producer = new EventProducer(queue, connection, {
    onError: (error) => logger.warn({ err: error.message }, 'redis error'),
  });
  const nonces = createRedisNonceStore(connection, env.INLET_QUEUE_PREFIX);
  const app = createApp({ sources, producer, nonces, logger });

  const server = serve({ fetch: app.fetch, port: env.PORT }, (info) => {
    logger.info({ port: info.port, sources: [...sources.keys()] }, 'ingest listening');
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'ingest stopping');
    server.close(() => {
      producer.close().finally(() => process.exit(0));
    });
    if ('closeIdleConnections' in server) server.closeIdleConnections();
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
