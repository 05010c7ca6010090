import { createServer } from 'node:http';
import { ConfigError } from '@inlet/config';
import { createSql } from '@inlet/db';
import { createRedis } from '@inlet/queue';
import { pino } from 'pino';
import { parseWorkerEnv } from './env.js';
import { createEventWorker } from './worker.js';

async function main(): Promise<void> {
  const env = parseWorkerEnv();
  const logger = pino({ level: env.LOG_LEVEL, base: { app: 'worker' } });
  const sql = createSql(env.DATABASE_URL, { max: Math.min(env.WORKER_CONCURRENCY, 20) });
  const connection = createRedis(env.REDIS_URL, 'worker');
  connection.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  const { worker } = createEventWorker({
    connection,
    queue: { name: env.INLET_QUEUE, prefix: env.INLET_QUEUE_PREFIX },
    sql,
    logger,
    concurrency: env.WORKER_CONCURRENCY,
  });

  const ready = async (): Promise<boolean> => {
    try {
      const [pong] = await Promise.all([connection.ping(), sql`select 1`]);
      return pong === 'PONG';
    } catch {
      return false;
    }
  };
  const server = createServer((req, res) => {
    const respond = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/healthz') return respond(200, { status: 'ok' });
    if (req.url === '/readyz') {
      void ready().then((ok) => respond(ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable' }));
      return;
    }
    respond(404, { error: { code: 'not_found', message: 'There is nothing at this path.' } });
  });
  server.listen(env.WORKER_METRICS_PORT, () => {
    logger.info({ port: env.WORKER_METRICS_PORT, concurrency: env.WORKER_CONCURRENCY }, 'worker running');
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker draining');
    // close() stops taking jobs and waits for those in flight to finish.
    await worker.close();
    await sql.end({ timeout: 5 });
    connection.disconnect();
    server.close();
    logger.info('worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message =
    error instanceof ConfigError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`inlet worker: ${message}\n`);
  process.exit(1);
});
