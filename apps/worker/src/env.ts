import { commonEnv, databaseEnv, parseEnv, portSchema } from '@inlet/config';
import { z } from 'zod';

export const workerEnvShape = {
  ...commonEnv,
  ...databaseEnv,
  WORKER_METRICS_PORT: portSchema.default(9464),
  WORKER_CONCURRENCY: z.coerce
    .number({ message: 'must be a whole number from 1 to 1000' })
    .int('must be a whole number from 1 to 1000')
    .min(1, 'must be a whole number from 1 to 1000')
    .max(1000, 'must be a whole number from 1 to 1000')
    .default(50),
};

export function parseWorkerEnv(env: Readonly<Record<string, string | undefined>> = process.env) {
  return parseEnv(workerEnvShape, env);
}
export type WorkerEnv = ReturnType<typeof parseWorkerEnv>;
