import type { BenchDatabase } from './bench-database.js';
import type { BenchQueue } from './bench-queue.js';
import type { CpuSource, PhaseCpu } from './cpu-meter.js';
import type { IngestSettings } from './ingest-process.js';
import type { BenchTimings } from './options.js';
import type {
  E2eSection,
  IngestSection,
  RatiosSection,
  ReferenceSection,
  TableRow,
  TargetResult,
  WorkerSection,
} from './results.js';

/** What every suite of the benchmark is given: the run's servers, names, secret and scratch space. */
export interface SuiteContext {
  /** Makes the run's event ids, queue and database names its own. */
  readonly runId: string;
  /** Events per drain phase. */
  readonly events: number;
  readonly timings: BenchTimings;
  readonly redisUrl: string;
  readonly queue: BenchQueue;
  readonly database: BenchDatabase;
  /** The run's scratch directory (sources file, logs), removed at the end. */
  readonly runDir: string;
  /** The Standard Webhooks secret of the run's source. */
  readonly secret: string;
  /** `apps/ingest/dist/main.js` unless `--ingest`. */
  readonly ingestScript: string;
  /** `apps/worker/dist/main.js` unless `--worker`. */
  readonly workerScript: string;
  /** Shared by every ingest start of the run. */
  readonly ingestSettings: IngestSettings;
  /** CPU of the servers every phase uses; postgres is null when it is not local. */
  readonly serverCpu: readonly (CpuSource | null)[];
  readonly log: (message: string) => void;
  readonly signal?: AbortSignal;
  /** When set, child processes run with `--cpu-prof` and write their profiles here. */
  readonly cpuProfileDir?: string;
}

/** A suite's share of the results: its own section, its reference figures, ratios, targets, table rows. */
export interface SuiteOutput {
  ingest?: IngestSection;
  worker?: WorkerSection;
  e2e?: E2eSection;
  reference: ReferenceSection;
  ratios: RatiosSection;
  targets: TargetResult[];
  rows: TableRow[];
  cpu: Record<string, PhaseCpu>;
}

/** Three decimals: the figures move more than that from run to run anyway. */
export function ratio(value: number, base: number): number {
  return base > 0 ? Math.round((value / base) * 1000) / 1000 : 0;
}

/** The environment of the machine minus any Inlet settings, which each phase sets itself. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(INLET_|WORKER_|BENCH_|DASHBOARD_)/.test(key)) continue;
    if (['REDIS_URL', 'DATABASE_URL', 'LOG_LEVEL', 'PORT', 'NODE_OPTIONS'].includes(key)) continue;
    env[key] = value;
  }
  return env;
}
