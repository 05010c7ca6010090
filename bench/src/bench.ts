import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type BenchDatabase, createBenchDatabase } from './bench-database.js';
import { BenchQueue } from './bench-queue.js';
import { machineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import type { BenchResults, TableRow, WorkerSettings } from './results.js';
import type { SuiteOutput } from './suite.js';
import { runWorkerSuite } from './worker-suite.js';

export interface RunBenchOptions extends BenchOptions {
  readonly log?: (message: string) => void;
  readonly signal?: AbortSignal;
  /** Worker settings tried beside the defaults (default: `defaultWorkerVariants`). */
  readonly workerVariants?: readonly { name: string; settings: WorkerSettings }[];
}

function workerSection(outputs: readonly SuiteOutput[]): Pick<BenchResults, 'worker'> {
  const worker = outputs.find((output) => output.worker)?.worker;
  return worker ? { worker } : {};
}

export interface BenchReport {
  results: BenchResults;
  rows: TableRow[];
}

/**
 * One benchmark run: a database and a queue of its own on the given servers, the suites one after
 * the other, the results written to `outFile`. The database and the queue are removed at the end.
 */
export async function runBench(options: RunBenchOptions): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const runId = randomBytes(4).toString('hex');
  const queue = await BenchQueue.open(options.redisUrl, {
    name: `bench_${process.pid}_${runId}`,
    prefix: `{inlet-bench-${runId}}`,
  });
  let database: BenchDatabase | undefined;
  try {
    database = await createBenchDatabase(options.databaseUrl, `inlet_bench_${process.pid}_${runId}`);
    if (options.cpuProfileDir) await mkdir(options.cpuProfileDir, { recursive: true });
    const machine = machineInfo({
      redis: await queue.redisVersion(),
      postgres: await database.serverVersion(),
    });
    const context = {
      runId,
      events: options.events,
      redisUrl: options.redisUrl,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    };
    const outputs: SuiteOutput[] = [
      await runWorkerSuite({
        ...context,
        queue,
        database,
        ...(options.workerVariants ? { variants: options.workerVariants } : {}),
        ...(options.workerScript ? { workerScript: options.workerScript } : {}),
      }),
      // The ingest and end-to-end suites go here, each adding its own section and references.
    ];
    const results: BenchResults = {
      timestamp: new Date().toISOString(),
      quick: options.quick,
      events: options.events,
      machine,
      ...workerSection(outputs),
      reference: Object.assign({}, ...outputs.map((output) => output.reference)),
      ratios: Object.assign({}, ...outputs.map((output) => output.ratios)),
      targets: outputs.flatMap((output) => output.targets),
    };
    await mkdir(path.dirname(options.outFile), { recursive: true });
    await writeFile(options.outFile, `${JSON.stringify(results, null, 2)}\n`);
    return { results, rows: outputs.flatMap((output) => output.rows) };
  } finally {
    await queue.empty().catch(() => {});
    await queue.close();
    await database?.drop();
  }
}
