import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerNodeFlags } from '@inlet/worker';
import { NodeChild } from './child-process.js';
import { CpuMeter, type PhaseCpu, processCpu } from './cpu-meter.js';
import { logProfile, profileArgs } from './cpu-profile.js';
import { type DrainResult, waitForDrain } from './drain.js';
import type { WorkerSettings, WorkerVariant } from './results.js';
import { baseEnv, ratio, type SuiteContext, type SuiteOutput } from './suite.js';

/** Resolves the same from `src/` (tests) and `dist/`: the children always run built code. */
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const builtScript = (name: string) => path.join(packageRoot, 'dist', name);
export const defaultWorkerScript = path.resolve(packageRoot, '..', 'apps', 'worker', 'dist', 'main.js');

export const NOOP_CONCURRENCY = 100;
export const NAIVE_CONCURRENCY = 50;

/** Settings tried beside the worker's defaults: smaller group commits. */
export const defaultWorkerVariants: readonly { name: string; settings: WorkerSettings }[] = [
  { name: 'concurrency 100, batch 100', settings: { WORKER_CONCURRENCY: '100', WORKER_BATCH_SIZE: '100' } },
];

export const WORKER_TARGETS = { toNaive: 3, toNoop: 0.7 } as const;

export interface WorkerSuiteContext extends SuiteContext {
  readonly variants?: readonly { name: string; settings: WorkerSettings }[];
}

interface DrainPhase {
  /** File-name friendly: its CPU profile and its key in the results' `cpu`. */
  readonly slug: string;
  readonly label: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  /** Node options of the process, before the script (the worker's own, as it is started). */
  readonly nodeFlags?: readonly string[];
  /** Writes one row per event, which is checked after the drain. */
  readonly writesRows: boolean;
}

interface MeasuredDrain extends DrainResult {
  cpu: PhaseCpu | null;
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
  const cpu: Record<string, PhaseCpu> = {};

  const runPhase = async (phase: DrainPhase): Promise<MeasuredDrain> => {
    await queue.empty();
    await database.reset();
    log(`${phase.label}: filling the queue with ${context.events.toLocaleString('en-US')} events`);
    await queue.fill(context.runId, context.events);
    const child = new NodeChild({
      script: phase.script,
      cwd: packageRoot,
      env: { ...baseEnv(), ...queueEnv, ...phase.env },
      execArgv: [...(phase.nodeFlags ?? []), ...profileArgs(context.cpuProfileDir, phase.slug)],
    });
    let result: DrainResult;
    let meter: CpuMeter | undefined;
    let completedBefore = 0;
    let phaseCpu: PhaseCpu | null = null;
    try {
      result = await waitForDrain(queue, child, context.events, {
        ...(context.signal ? { signal: context.signal } : {}),
        onFirstCompletion: async (completed) => {
          completedBefore = completed;
          meter = await CpuMeter.start([processCpu(phase.slug, child.pid), ...context.serverCpu]);
        },
      });
      // Read before the child exits: its /proc entry goes with it.
      phaseCpu = (await meter?.stop(context.events - completedBefore)) ?? null;
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
    if (phaseCpu) {
      cpu[phase.slug] = phaseCpu;
      log(`${phase.label}: bound by ${phaseCpu.bound_by}`);
    }
    await logProfile(context.cpuProfileDir, phase.slug, phase.label, log);
    return { ...result, cpu: phaseCpu };
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
    script: context.workerScript,
    nodeFlags: workerNodeFlags,
    env: {
      DATABASE_URL: database.url,
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...settings,
    },
    writesRows: true,
  });
  const worker = await runPhase(workerPhase('worker', 'worker (default settings)', {}));

  const ratioToNaive = (value: number) => ratio(value, naive.perSecond);
  const ratioToNoop = (value: number) => ratio(value, noop.perSecond);
  const variants: WorkerVariant[] = [];
  const variantResults: { slug: string; name: string; result: MeasuredDrain }[] = [];
  for (const [index, variant] of (context.variants ?? defaultWorkerVariants).entries()) {
    const slug = `worker-variant-${index + 1}`;
    const result = await runPhase(workerPhase(slug, `worker (${variant.name})`, variant.settings));
    variantResults.push({ slug, name: variant.name, result });
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
  const row = (
    slug: string,
    phase: string,
    result: MeasuredDrain,
    rssName: string,
  ): SuiteOutput['rows'][number] => ({
    group: 'worker',
    phase,
    perSecond: result.perSecond,
    unit: 'events/s',
    p50Ms: null,
    p99Ms: null,
    versus: [
      `${ratioToNaive(result.perSecond).toFixed(2)}x naive`,
      `${ratioToNoop(result.perSecond).toFixed(2)}x no-op`,
    ],
    peakRss: [{ name: rssName, mb: result.peakRssMb }],
    cpuKey: slug,
  });
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
        name: `worker >= ${WORKER_TARGETS.toNaive}x naive worker`,
        value: workerToNaive,
        unit: 'x',
        min: WORKER_TARGETS.toNaive,
        met: workerToNaive >= WORKER_TARGETS.toNaive,
      },
      {
        name: `worker >= ${WORKER_TARGETS.toNoop}x bullmq no-op drain`,
        value: workerToNoop,
        unit: 'x',
        min: WORKER_TARGETS.toNoop,
        met: workerToNoop >= WORKER_TARGETS.toNoop,
      },
    ],
    rows: [
      row('bullmq-noop-drain', `bullmq no-op drain (c=${NOOP_CONCURRENCY})`, noop, 'drain'),
      row('naive-worker', `naive worker (c=${NAIVE_CONCURRENCY}, 1 tx/job)`, naive, 'worker'),
      row('worker', 'worker (defaults)', worker, 'worker'),
      ...variantResults.map(({ slug, name, result }) => row(slug, `worker (${name})`, result, 'worker')),
    ],
    cpu,
  };
}
