import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type BenchDatabase, createBenchDatabase } from './bench-database.js';
import { BenchQueue } from './bench-queue.js';
import { runE2eSuite } from './e2e-suite.js';
import { defaultIngestScript, defaultIngestSettings } from './ingest-process.js';
import { runIngestSuite } from './ingest-suite.js';
import { machineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import type { BenchResults, TableRow, TargetResult, WorkerSettings } from './results.js';
import { generateBenchSecret } from './signed-deliveries.js';
import type { SuiteContext, SuiteOutput } from './suite.js';
import { defaultWorkerScript, runWorkerSuite } from './worker-suite.js';

export const INGEST_RSS_LIMIT_MB = 200;

export interface RunBenchOptions extends BenchOptions {
  readonly log?: (message: string) => void;
  readonly signal?: AbortSignal;
  /** Worker settings tried beside the defaults (default: `defaultWorkerVariants`). */
  readonly workerVariants?: readonly { name: string; settings: WorkerSettings }[];
}

export interface BenchReport {
  results: BenchResults;
  rows: TableRow[];
}

/** Ingest's peak memory over every phase it ran in, held to INGEST_RSS_LIMIT_MB. */
function ingestRssTarget(outputs: readonly SuiteOutput[]): TargetResult[] {
  const peaks = outputs
    .flatMap((output) => [output.ingest?.peak_rss_mb, output.e2e?.ingest_peak_rss_mb])
    .filter((mb): mb is number | null => mb !== undefined);
  if (peaks.length === 0) return [];
  const known = peaks.filter((mb): mb is number => mb !== null);
  const peak = known.length === 0 ? null : Math.max(...known);
  return [
    {
      name: `ingest peak RSS < ${INGEST_RSS_LIMIT_MB} MB`,
      value: peak,
      unit: 'MB',
      max: INGEST_RSS_LIMIT_MB,
      met: peak !== null && peak < INGEST_RSS_LIMIT_MB,
    },
  ];
}

/**
 * One benchmark run: a database, a queue and a scratch directory of its own, the groups of phases one
 * after the other (ingest, worker, end to end: the last starts its search from the first two), the
 * results written to `outFile`. Everything of the run is removed at the end, on error too.
 */
export async function runBench(options: RunBenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const runId = randomBytes(4).toString('hex');
  const queue = await BenchQueue.open(options.redisUrl, {
    name: `bench_${process.pid}_${runId}`,
    prefix: `{inlet-bench-${runId}}`,
  });
  let database: BenchDatabase | undefined;
  let runDir: string | undefined;
  try {
    database = await createBenchDatabase(options.databaseUrl, `inlet_bench_${process.pid}_${runId}`);
    runDir = await mkdtemp(path.join(tmpdir(), `inlet-bench-${runId}-`));
    if (options.cpuProfileDir) await mkdir(options.cpuProfileDir, { recursive: true });
    const machine = machineInfo({
      redis: await queue.redisVersion(),
      postgres: await database.serverVersion(),
    });
    const ingestSettings = defaultIngestSettings();
    const context: SuiteContext = {
      runId,
      events: options.events,
      timings: options.timings,
      redisUrl: options.redisUrl,
      queue,
      database,
      runDir,
      secret: generateBenchSecret(),
      ingestScript: options.ingestScript ?? defaultIngestScript,
      workerScript: options.workerScript ?? defaultWorkerScript,
      ingestSettings,
      serverCpu: [queue.cpuSource(), await database.cpuSource()],
      log,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    };
    const outputs: SuiteOutput[] = [];
    const runs = (group: BenchResults['groups'][number]) => options.groups.includes(group);
    if (runs('ingest')) outputs.push(await runIngestSuite(context));
    if (runs('worker')) {
      outputs.push(
        await runWorkerSuite({
          ...context,
          ...(options.workerVariants ? { variants: options.workerVariants } : {}),
        }),
      );
    }
    if (runs('e2e')) {
      const ingest = outputs.find((output) => output.ingest)?.ingest;
      const worker = outputs.find((output) => output.worker)?.worker;
      const reference = Object.assign({}, ...outputs.map((output) => output.reference));
      const least = (...values: (number | undefined)[]) => {
        const known = values.filter((value): value is number => value !== undefined && value > 0);
        return known.length === 0 ? undefined : Math.min(...known);
      };
      const inlet = least(ingest?.rps, worker?.events_per_s);
      const naive = least(reference.naive_ingest_rps, reference.naive_worker_per_s);
      outputs.push(
        await runE2eSuite(context, {
          ...(inlet === undefined ? {} : { inlet }),
          ...(naive === undefined ? {} : { naive }),
        }),
      );
    }
    const section = <K extends 'ingest' | 'worker' | 'e2e'>(key: K) => {
      const found = outputs.find((output) => output[key] !== undefined)?.[key];
      return found === undefined ? {} : { [key]: found };
    };
    const results: BenchResults = {
      timestamp: new Date().toISOString(),
      quick: options.quick,
      groups: [...options.groups],
      events: options.events,
      connections: options.timings.connections,
      machine,
      ...section('ingest'),
      ...section('worker'),
      ...section('e2e'),
      reference: Object.assign({}, ...outputs.map((output) => output.reference)),
      ratios: Object.assign({}, ...outputs.map((output) => output.ratios)),
      targets: [...outputs.flatMap((output) => output.targets), ...ingestRssTarget(outputs)],
      cpu: Object.assign({}, ...outputs.map((output) => output.cpu)),
      notes: [
        ...ingestSettings.notes,
        ...outputs.flatMap((output) => [output.e2e?.note, output.reference.naive_pair?.note]),
      ].filter((note): note is string => note !== undefined),
    };
    await mkdir(path.dirname(options.outFile), { recursive: true });
    await writeFile(options.outFile, `${JSON.stringify(results, null, 2)}\n`);
    return { results, rows: outputs.flatMap((output) => output.rows) };
  } finally {
    await queue.empty().catch(() => {});
    await queue.close();
    await database?.drop();
    if (runDir) await rm(runDir, { recursive: true, force: true });
  }
}
