import { commonEnv, parseEnv } from '@inlet/config';
import { createRedis, type EventJob } from '@inlet/queue';
import { type Processor, Worker } from 'bullmq';
import { z } from 'zod';

export const referenceWorkerEnvShape = {
  ...commonEnv,
  BENCH_CONCURRENCY: z.coerce.number().int().min(1).max(5000),
};

/**
 * Runs a plain BullMQ worker on the run's queue until SIGTERM or SIGINT, then closes it (waiting for
 * the jobs in flight) and exits. The reference phases' child processes are this plus a processor.
 */
export function runReferenceWorker(
  name: string,
  processor: Processor<EventJob>,
  options: { concurrency: number; redisUrl: string; queue: { name: string; prefix: string } },
  onClose: () => Promise<void> = async () => {},
): void {
  const connection = createRedis(options.redisUrl, 'worker', { connectionName: `inlet-bench-${name}` });
  connection.on('error', (error) => process.stderr.write(`${name}: redis: ${error.message}\n`));
  const worker = new Worker<EventJob>(options.queue.name, processor, {
    connection,
    prefix: options.queue.prefix,
    concurrency: options.concurrency,
  });
  worker.on('error', (error) => process.stderr.write(`${name}: ${error.message}\n`));
  worker.on('failed', (job, error) =>
    process.stderr.write(`${name}: job ${job?.id} failed: ${error.message}\n`),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await worker.close();
    await onClose();
    connection.disconnect();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

export function parseReferenceWorkerEnv() {
  return parseEnv(referenceWorkerEnvShape);
}
