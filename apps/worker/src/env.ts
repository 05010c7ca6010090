import {
  booleanFromEnv,
  commonEnv,
  databaseEnv,
  databaseTlsFromEnv,
  parseEnv,
  portSchema,
  redisTlsFromEnv,
} from '@inlet/config';
import { z } from 'zod';

const wholeNumber = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ message }).int(message).min(min, message).max(max, message);
};

export const workerEnvShape = {
  ...commonEnv,
  ...databaseEnv,
  INLET_SOURCES: z.string().min(1).optional(),
  WORKER_METRICS_PORT: portSchema.default(9464),
  /** Jobs in flight per process: enough to fill the next batches while one commits. */
  WORKER_CONCURRENCY: wholeNumber(1, 5000).default(1000),
  /** Most events in one transaction. */
  WORKER_BATCH_SIZE: wholeNumber(1, 1000).default(256),
  /** Transactions one process runs at once. */
  WORKER_BATCH_CONCURRENCY: wholeNumber(1, 32).default(2),
  /** Bytes of job data held at once; past it no new job is taken until some are done. */
  WORKER_MAX_BODY_BYTES_IN_FLIGHT: wholeNumber(1024, 2 ** 40).default(16 * 1024 * 1024),
  /** A killed worker's jobs come back after about this long. */
  WORKER_LOCK_DURATION_MS: wholeNumber(1000, 600_000).default(30_000),
  /** `serializable` runs the storing transactions at SERIALIZABLE on PostgreSQL (CockroachDB always does). */
  INLET_DB_ISOLATION: z.enum(['default', 'serializable']).default('default'),
  /** CockroachDB only: make its sessions inject retry errors, to rehearse the retry path. */
  INLET_DB_INJECT_RETRY_ERRORS: booleanFromEnv.default(false),
  /** How long a source's handler may take for one event; past it that event fails alone. */
  INLET_HANDLER_TIMEOUT_MS: wholeNumber(100, 600_000).default(10_000),
  /** How long SIGTERM waits for the jobs in flight before the worker closes anyway. */
  INLET_SHUTDOWN_TIMEOUT_MS: wholeNumber(0, 3_600_000).default(30_000),
};

/** The settings, with the CA files read (once, here). */
export function parseWorkerEnv(env: Readonly<Record<string, string | undefined>> = process.env) {
  const parsed = parseEnv(workerEnvShape, env);
  return { ...parsed, redisTls: redisTlsFromEnv(parsed), databaseTls: databaseTlsFromEnv(parsed) };
}
export type WorkerEnv = ReturnType<typeof parseWorkerEnv>;
