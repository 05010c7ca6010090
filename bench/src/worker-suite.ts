import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchDatabase } from './bench-database.js';
import type { BenchQueue } from './bench-queue.js';
import { NodeChild } from './child-process.js';
import { formatProfileSummary, summarizeCpuProfile } from './cpu-profile.js';
import { type DrainResult, waitForDrain } from './drain.js';
import type { WorkerSettings, WorkerVariant } from './results.js';
import type { SuiteContext, SuiteOutput } from './suite.js';

/** Resolves the same from `src/` (tests) and `dist/`: the children always run built code. */
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const builtScript = (name: string) => path.join(packageRoot, 'dist', name);
export const defaultWorkerScript = path.resolve(packageRoot, '..', 'apps', 'worker', 'dist', 'main.js');

export const NOOP_CONCURRENCY = 100;
export const NAIVE_CONCURRENCY = 50;

/** Settings tried beside the defaults (concurrency 300, batch 300): smaller group commits. */
export const defaultWorkerVariants: readonly { name: string; settings: WorkerSettings }[] = [
  { name: 'concurrency 100, batch 100', settings: { WORKER_CONCURRENCY: '100', WORKER_BATCH_SIZE: '100' } },
];

export const WORKER_TARGETS = { toNaive: 3, toNoop: 0.7 } as const;

export interface WorkerSuiteContext extends SuiteContext {
  readonly queue: BenchQueue;
  readonly database: BenchDatabase;
  /** `apps/worker/dist/main.js`. */
  readonly workerScript?: string;
  readonly variants?: readonly { name: string; settings: WorkerSettings }[];
}

interface DrainPhase {
  /** File-name friendly, for its CPU profile. */
  readonly slug: string;
  readonly label: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  /** Writes one row per event, which is checked after the drain. */
  readonly writesRows: boolean;
}

/** The environment of the machine minus any Inlet settings, which each phase sets itself. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(INLET_|WORKER_|BENCH_)/.test(key)) continue;
    if (key === 'REDIS_URL' || key === 'DATABASE_URL' || key === 'LOG_LEVEL') continue;
    env[key] = value;
  }
  return env;
}

/**
 * Drains a pre-filled queue of `context.events` events three ways, each in a process of its own and
 * from the same starting state (empty table, freshly filled queue): a no-op BullMQ worker, a naive
 * worker with one transaction per job, and the real worker with its defaults and a few variants.
 */
export async function runWorkerSuite(context: WorkerSuiteContext): Promise<SuiteOutput> {
  const { queue, database, log } = context;
  const queueEnv = {
    REDIS_URL: context.redisUrl,
    INLET_QUEUE: queue.names.name,
    INLET_QUEUE_PREFIX: queue.names.prefix,
  };

  const runPhase = async (phase: DrainPhase): Promise<DrainResult> => {
    await queue.empty();
    await database.reset();
    log(`${phase.label}: filling the queue with ${context.events.toLocaleString('en-US')} events`);
    await queue.fill(context.runId, context.events);
    const profileName = `${phase.slug}.cpuprofile`;
    const child = new NodeChild({
      script: phase.script,
      cwd: packageRoot,
      env: { ...baseEnv(), ...queueEnv, ...phase.env },
      execArgv: context.cpuProfileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${context.cpuProfileDir}`, `--cpu-prof-name=${profileName}`]
        : [],
    });
    let result: DrainResult;
    try {
      result = await waitForDrain(queue, child, context.events, {
        ...(context.signal ? { signal: context.signal } : {}),
      });
    } catch (error) {
      throw new Error(`${phase.label}: ${(error as Error).message}`, { cause: error });
    } finally {
      await child.stop();
    }
    if (phase.writesRows) {
      const rows = await database.countEvents();
      if (rows !== context.events) {
        throw new Error(`${phase.label}: ${rows} rows stored, ${context.events} expected`);
      }
    }
    log(`${phase.label}: ${Math.round(result.perSecond).toLocaleString('en-US')} events/s`);
    if (context.cpuProfileDir) {
      const file = path.join(context.cpuProfileDir, profileName);
      const summary = summarizeCpuProfile(JSON.parse(await readFile(file, 'utf8')));
      log(`${formatProfileSummary(phase.label, summary)}\n  profile: ${file}`);
    }
    return result;
  };

  const noop = await runPhase({
    slug: 'bullmq-noop-drain',
    label: `bullmq no-op drain (concurrency ${NOOP_CONCURRENCY})`,
    script: builtScript('noop-worker.js'),
    env: { BENCH_CONCURRENCY: String(NOOP_CONCURRENCY) },
    writesRows: false,
  });
  const naive = await runPhase({
    slug: 'naive-worker',
    label: `naive worker (concurrency ${NAIVE_CONCURRENCY})`,
    script: builtScript('naive-worker.js'),
    env: { BENCH_CONCURRENCY: String(NAIVE_CONCURRENCY), DATABASE_URL: database.url },
    writesRows: true,
  });
  const workerPhase = (slug: string, label: string, settings: WorkerSettings): DrainPhase => ({
    slug,
    label,
    script: context.workerScript ?? defaultWorkerScript,
    env: {
      DATABASE_URL: database.url,
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...settings,
    },
    writesRows: true,
  });
  const worker = await runPhase(workerPhase('worker', 'worker (default settings)', {}));

  // Three decimals: the figures move more than that from run to run anyway.
  const ratioTo = (base: number) => (value: number) => Math.round((value / base) * 1000) / 1000;
  const ratioToNaive = ratioTo(naive.perSecond);
  const ratioToNoop = ratioTo(noop.perSecond);
  const variants: WorkerVariant[] = [];
  for (const [index, variant] of (context.variants ?? defaultWorkerVariants).entries()) {
    const result = await runPhase(
      workerPhase(`worker-variant-${index + 1}`, `worker (${variant.name})`, variant.settings),
    );
    variants.push({
      name: variant.name,
      settings: variant.settings,
      events_per_s: result.perSecond,
      peak_rss_mb: result.peakRssMb,
      ratio_to_naive: ratioToNaive(result.perSecond),
      ratio_to_noop: ratioToNoop(result.perSecond),
    });
  }
  await queue.empty();
  await database.reset();

  const workerToNaive = ratioToNaive(worker.perSecond);
  const workerToNoop = ratioToNoop(worker.perSecond);
  return {
    worker: { events_per_s: worker.perSecond, peak_rss_mb: worker.peakRssMb, variants },
    reference: {
      bullmq_noop_drain_per_s: noop.perSecond,
      bullmq_noop_drain_peak_rss_mb: noop.peakRssMb,
      naive_worker_per_s: naive.perSecond,
      naive_worker_peak_rss_mb: naive.peakRssMb,
    },
    ratios: { worker_to_naive: workerToNaive, worker_to_noop: workerToNoop },
    targets: [
      {
        name: 'worker >= 3x naive worker',
        ratio: workerToNaive,
        min: WORKER_TARGETS.toNaive,
        met: workerToNaive >= WORKER_TARGETS.toNaive,
      },
      {
        name: 'worker >= 0.7x bullmq no-op drain',
        ratio: workerToNoop,
        min: WORKER_TARGETS.toNoop,
        met: workerToNoop >= WORKER_TARGETS.toNoop,
      },
    ],
    rows: [
      {
        phase: `bullmq no-op drain (c=${NOOP_CONCURRENCY})`,
        perSecond: noop.perSecond,
        unit: 'events/s',
        ratioToNaive: ratioToNaive(noop.perSecond),
        ratioToNoop: 1,
        peakRssMb: noop.peakRssMb,
      },
      {
        phase: `naive worker (c=${NAIVE_CONCURRENCY}, 1 tx/job)`,
        perSecond: naive.perSecond,
        unit: 'events/s',
        ratioToNaive: 1,
        ratioToNoop: ratioToNoop(naive.perSecond),
        peakRssMb: naive.peakRssMb,
      },
      {
        phase: 'worker (defaults)',
        perSecond: worker.perSecond,
        unit: 'events/s',
        ratioToNaive: workerToNaive,
        ratioToNoop: workerToNoop,
        peakRssMb: worker.peakRssMb,
      },
      ...variants.map((variant) => ({
        phase: `worker (${variant.name})`,
        perSecond: variant.events_per_s,
        unit: 'events/s',
        ratioToNaive: variant.ratio_to_naive,
        ratioToNoop: variant.ratio_to_noop,
        peakRssMb: variant.peak_rss_mb,
      })),
    ],
  };
}
