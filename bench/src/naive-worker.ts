// Child process of the `reference.naive_worker_per_s` phase: what a worker without group commit
// does, one transaction with one INSERT per job.
import { databaseEnv, parseEnv } from '@inlet/config';
import { createSql, insertEvent, payloadJsonFor } from '@inlet/db';
import { referenceWorkerEnvShape, runReferenceWorker } from './reference-worker.js';

const env = parseEnv({ ...referenceWorkerEnvShape, ...databaseEnv });
// A connection per job in flight, so no job waits for a connection.
const sql = createSql(env.DATABASE_URL, {
  max: env.BENCH_CONCURRENCY,
  application_name: 'inlet-bench-naive',
});

runReferenceWorker(
  'naive-worker',
  async (job) => {
    const event = job.data;
    await sql.begin((tx) =>
      insertEvent(tx, {
        source: event.source,
        eventId: event.eventId,
        eventType: event.eventType,
        headers: event.headers,
        body: event.body,
        payloadJson: payloadJsonFor(event.body, event.headers['content-type']),
        receivedAt: new Date(event.receivedAt),
      }),
    );
  },
  {
    concurrency: env.BENCH_CONCURRENCY,
    redisUrl: env.REDIS_URL,
    queue: { name: env.INLET_QUEUE, prefix: env.INLET_QUEUE_PREFIX },
  },
  () => sql.end({ timeout: 5 }),
);
