// Child process of the `reference.bullmq_noop_drain_per_s` phase: BullMQ's own cost per job, and
// so the ceiling of any BullMQ worker on this machine.
import { parseReferenceWorkerEnv, runReferenceWorker } from './reference-worker.js';

const env = parseReferenceWorkerEnv();
runReferenceWorker('noop-worker', async () => undefined, {
  concurrency: env.BENCH_CONCURRENCY,
  redisUrl: env.REDIS_URL,
  queue: { name: env.INLET_QUEUE, prefix: env.INLET_QUEUE_PREFIX },
});
