import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { databaseUrlSchema, parseEnv, redisUrlSchema } from '@inlet/config';
import { z } from 'zod';
import { type BenchGroup, benchGroups } from './results.js';

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

/** How long each kind of phase runs: short windows with `--quick`, longer ones otherwise. */
export interface BenchTimings {
  /** Load generator connections of the ingest phases (and the end-to-end ones). */
  readonly connections: number;
  readonly ingestWarmupSeconds: number;
  readonly ingestSeconds: number;
  readonly addWarmupSeconds: number;
  readonly addSeconds: number;
  /** Before the search: JIT, connection pools and the table warm. */
  readonly e2eWarmupSeconds: number;
  /** Windows of the rate search. */
  readonly e2eSearchSteps: number;
  readonly e2eSearchSeconds: number;
  /** The window at the rate found; null: the best search window stands (quick). */
  readonly e2eFinalSeconds: number | null;
  /** The first seconds of a window are left out of its lag, while connections and rates settle. */
  readonly e2eSkipSeconds: number;
  /** Lag p99 from 202 to committed row a rate must stay under to count as sustained. */
  readonly lagBoundMs: number;
}

export const QUICK_TIMINGS: BenchTimings = {
  connections: 50,
  ingestWarmupSeconds: 1,
  ingestSeconds: 2,
  addWarmupSeconds: 0.5,
  addSeconds: 2,
  e2eWarmupSeconds: 1,
  e2eSearchSteps: 2,
  e2eSearchSeconds: 2,
  e2eFinalSeconds: null,
  e2eSkipSeconds: 0.5,
  lagBoundMs: 1000,
};

export const FULL_TIMINGS: BenchTimings = {
  connections: 50,
  ingestWarmupSeconds: 3,
  ingestSeconds: 10,
  addWarmupSeconds: 1,
  addSeconds: 5,
  e2eWarmupSeconds: 3,
  e2eSearchSteps: 5,
  e2eSearchSeconds: 10,
  e2eFinalSeconds: 60,
  e2eSkipSeconds: 2,
  lagBoundMs: 1000,
};

export interface BenchOptions {
  readonly redisUrl: string;
  readonly databaseUrl: string;
  readonly quick: boolean;
  readonly events: number;
  /** The groups to run: all of them unless `--only`. */
  readonly groups: readonly BenchGroup[];
  readonly timings: BenchTimings;
  readonly outFile: string;
  readonly cpuProfileDir?: string;
  /** The worker's entry point to measure, e.g. another build to compare (default apps/worker/dist/main.js). */
  readonly workerScript?: string;
  /** The same for ingest (default apps/ingest/dist/main.js). */
  readonly ingestScript?: string;
}

export const USAGE = `usage: node bench/dist/main.js [--quick] [--only GROUP] [--events N] [--out FILE] [--profile]
                               [--worker FILE] [--ingest FILE]
  --quick      under a minute: ${QUICK_EVENTS.toLocaleString('en-US')} events per drain instead of ${FULL_EVENTS.toLocaleString('en-US')}, windows of ${QUICK_TIMINGS.ingestSeconds} s
               instead of ${FULL_TIMINGS.ingestSeconds} s, no ${FULL_TIMINGS.e2eFinalSeconds} s end-to-end window
  --only G     one group of phases: ${benchGroups.join(', ')}
  --events N   events per drain phase (also BENCH_EVENTS)
  --out FILE   where to write the results (default bench/results/latest.json)
  --profile    run each phase's process with --cpu-prof and print its busiest functions
  --worker F   the worker entry point to measure (default apps/worker/dist/main.js)
  --ingest F   the ingest entry point to measure (default apps/ingest/dist/main.js)
environment: REDIS_URL, DATABASE_URL (a server the bench may create and drop a database on)`;

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

/** Options from the command line and the environment; throws BenchUsageError or ConfigError. */
export function parseBenchOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): BenchOptions {
  let values: {
    quick?: boolean;
    only?: string;
    events?: string;
    out?: string;
    profile?: boolean;
    worker?: string;
    ingest?: string;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        events: { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'boolean' },
        worker: { type: 'string' },
        ingest: { type: 'string' },
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
  let groups: readonly BenchGroup[] = benchGroups;
  if (values.only !== undefined) {
    const parsed = z.enum(benchGroups).safeParse(values.only);
    if (!parsed.success) throw new BenchUsageError(`--only must be one of ${benchGroups.join(', ')}`);
    groups = [parsed.data];
  }
  const quick = values.quick === true;
  return {
    redisUrl: parsedEnv.REDIS_URL,
    databaseUrl: parsedEnv.DATABASE_URL,
    quick,
    events: events ?? (quick ? QUICK_EVENTS : FULL_EVENTS),
    groups,
    timings: quick ? QUICK_TIMINGS : FULL_TIMINGS,
    outFile: path.resolve(values.out ?? defaultOutFile),
    ...(values.profile ? { cpuProfileDir: defaultProfileDir } : {}),
    ...(values.worker ? { workerScript: path.resolve(values.worker) } : {}),
    ...(values.ingest ? { ingestScript: path.resolve(values.ingest) } : {}),
  };
}
