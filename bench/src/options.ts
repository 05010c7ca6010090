import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { databaseUrlSchema, parseEnv, redisUrlSchema } from '@inlet/config';
import { z } from 'zod';

export const FULL_EVENTS = 50_000;
export const QUICK_EVENTS = 5_000;
/** BullMQ keeps this many completed jobs (eventJobOptions), and the drain is timed from them. */
export const MAX_EVENTS = 100_000;

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const defaultOutFile = path.join(packageRoot, 'results', 'latest.json');
export const defaultProfileDir = path.join(packageRoot, 'results', 'profiles');

const eventsSchema = z.coerce
  .number({ message: `must be a whole number from 10 to ${MAX_EVENTS}` })
  .int(`must be a whole number from 10 to ${MAX_EVENTS}`)
  .min(10, `must be a whole number from 10 to ${MAX_EVENTS}`)
  .max(MAX_EVENTS, `must be a whole number from 10 to ${MAX_EVENTS}`);

const benchEnvShape = {
  REDIS_URL: redisUrlSchema.default('redis://127.0.0.1:6379'),
  /** The server: the bench creates a database of its own on it and drops it at the end. */
  DATABASE_URL: databaseUrlSchema.default('postgres://postgres@127.0.0.1:5432/postgres'),
  BENCH_EVENTS: eventsSchema.optional(),
};

export interface BenchOptions {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly quick: boolean;
  readonly events: number;
  readonly outFile: string;
  readonly cpuProfileDir?: string;
  /** The worker's entry point to measure, e.g. another build to compare (default apps/worker/dist/main.js). */
  readonly workerScript?: string;
}

export const USAGE = `usage: node bench/dist/main.js [--quick] [--events N] [--out FILE] [--profile] [--worker FILE]
  --quick      ${QUICK_EVENTS.toLocaleString('en-US')} events per phase instead of ${FULL_EVENTS.toLocaleString('en-US')}
  --events N   events per phase (also BENCH_EVENTS)
  --out FILE   where to write the results (default bench/results/latest.json)
  --profile    run each phase's process with --cpu-prof and print its busiest functions
  --worker F   the worker entry point to measure (default apps/worker/dist/main.js)
environment: REDIS_URL, DATABASE_URL (a server the bench may create and drop a database on)`;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

/** Options from the command line and the environment; throws BenchUsageError or ConfigError. */
export function parseBenchOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): BenchOptions {
  let values: { quick?: boolean; events?: string; out?: string; profile?: boolean; worker?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        events: { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'boolean' },
        worker: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new BenchUsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const parsedEnv = parseEnv(benchEnvShape, env);
  let events = parsedEnv.BENCH_EVENTS;
  if (values.events !== undefined) {
    const parsed = eventsSchema.safeParse(values.events);
    if (!parsed.success)
      throw new BenchUsageError(`--events ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    events = parsed.data;
  }
  const quick = values.quick === true;
  return {
    redisUrl: parsedEnv.REDIS_URL,
    databaseUrl: parsedEnv.DATABASE_URL,
    quick,
    events: events ?? (quick ? QUICK_EVENTS : FULL_EVENTS),
    outFile: path.resolve(values.out ?? defaultOutFile),
    ...(values.profile ? { cpuProfileDir: defaultProfileDir } : {}),
    ...(values.worker ? { workerScript: path.resolve(values.worker) } : {}),
  };
}
