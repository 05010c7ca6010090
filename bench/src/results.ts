import type { PhaseCpu } from './cpu-meter.js';

export type { PhaseCpu, ProcessCpu } from './cpu-meter.js';

/** The groups of phases `--only` picks from. */
export const benchGroups = ['ingest', 'worker', 'e2e'] as const;
export type BenchGroup = (typeof benchGroups)[number];

/** What one benchmark run writes to `bench/results/latest.json`. */
export interface BenchResults {
  /** When the run ended, ISO 8601. */
  timestamp: string;
  /** True for `--quick`: shorter windows, fewer events, figures noisier. */
  quick: boolean;
  /** The groups that ran (all three unless `--only`). */
  groups: BenchGroup[];
  /** Events each drain phase starts with in its queue. */
  events: number;
  /** Load generator connections of the ingest phases. */
  connections: number;
  machine: MachineInfo;
  /** Absent when its group did not run. */
  ingest?: IngestSection;
  worker?: WorkerSection;
  e2e?: E2eSection;
  /** Figures taken in the same run to compare against: what the code under test is held to. */
  reference: ReferenceSection;
  ratios: RatiosSection;
  targets: TargetResult[];
  /** Where the CPU went in each phase, by phase (`ingest`, `naive-ingest`, `worker`, `e2e`, ...). */
  cpu: Record<string, PhaseCpu>;
  /** Anything that made this run differ from a complete one (a setting the ingest under test refused, ...). */
  notes: string[];
}

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  total_memory_mb: number;
  node: string;
  platform: string;
  redis: string;
  postgres: string;
  /** 1, 5 and 15 minute load averages when the run began (0 where the platform has none). */
  load_average_at_start: number[];
}

export interface HttpFigures {
  /** Deliveries answered 202 per second. */
  rps: number;
  p50_ms: number | null;
  p99_ms: number | null;
  peak_rss_mb: number | null;
}

/** The real ingest process under load from `connections` connections, every production feature on. */
export interface IngestSection extends HttpFigures {
  max_ms: number | null;
  /** Length of the measured window. */
  seconds: number;
  /** Answers by status code (all 202 unless something is wrong). */
  statuses: Record<string, number>;
}

/** The worker's own settings as environment variables (`WORKER_CONCURRENCY`, ...); empty: defaults. */
export type WorkerSettings = Readonly<Record<string, string>>;

export interface WorkerSection {
  /** The worker with its default settings: events committed per second. */
  events_per_s: number;
  peak_rss_mb: number | null;
  /** The same queue drained with other settings. */
  variants: WorkerVariant[];
}

export interface WorkerVariant {
  name: string;
  settings: WorkerSettings;
  events_per_s: number;
  peak_rss_mb: number | null;
  ratio_to_naive: number;
  ratio_to_noop: number;
}

/** One window at one offered rate, ingest and worker running together. */
export interface E2eTrial {
  offered_per_s: number;
  /** Deliveries answered 202 per second: all of them are in the table when the trial ends. */
  events_per_s: number;
  /** From 202 (`received_at`) to committed row (`processed_at`), over the window minus its first seconds. */
  lag_p50_ms: number | null;
  lag_p99_ms: number | null;
  lag_max_ms: number | null;
  window_s: number;
  /** Most jobs seen waiting in the queue during the window. */
  max_backlog: number;
  sustained: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** A pair of ingest and worker fed at a steady rate: the highest rate whose lag stays under the bound. */
export interface PairFigures {
  /** The highest rate sustained with lag p99 under `lag_bound_ms` (0 when none was). */
  events_per_s: number;
  lag_p50_ms: number | null;
  lag_p99_ms: number | null;
  lag_bound_ms: number;
  /** The final window: a minute in a full run, the best search window in a quick one. */
  window_s: number;
  sustained: boolean;
  ingest_peak_rss_mb: number | null;
  worker_peak_rss_mb: number | null;
  /** Every window tried, in order (warm-up left out). */
  trials: E2eTrial[];
  /** Set when the figures are not those of a final window that held (see the text). */
  note?: string;
  /**
   * The lowest rate above the one reported at which the lag bound broke, and what the CPU showed
   * there: what bounds the figure, where a window that holds is by definition not saturated.
   */
  broke_at?: { offered_per_s: number; reason: string; bound_by: string };
}

export type E2eSection = PairFigures;

export interface ReferenceSection {
  /** A Hono route on @hono/node-server answering 202 after reading the body. */
  bare_hono_rps?: number;
  bare_hono_p50_ms?: number | null;
  bare_hono_p99_ms?: number | null;
  bare_hono_peak_rss_mb?: number | null;
  /** HMAC check and one `queue.add` per request. */
  naive_ingest_rps?: number;
  naive_ingest_p50_ms?: number | null;
  naive_ingest_p99_ms?: number | null;
  naive_ingest_peak_rss_mb?: number | null;
  /**
   * The naive handler's two windows, before and after ingest; `naive_ingest_rps` (and its p50/p99)
   * is their mean, so that a drift of the machine's load during the run favours neither side.
   */
  naive_ingest_windows_rps?: number[];
  /** `queue.add` in a loop, 50 in flight, one process: the add ceiling. */
  bullmq_add_rps?: number;
  /** A BullMQ worker whose processor does nothing (concurrency 100): the ceiling of any BullMQ worker. */
  bullmq_noop_drain_per_s?: number;
  bullmq_noop_drain_peak_rss_mb?: number | null;
  /** A BullMQ worker running one transaction with one INSERT per job (concurrency 50). */
  naive_worker_per_s?: number;
  naive_worker_peak_rss_mb?: number | null;
  /** The naive handler and the naive worker together, under the same lag bound as the end-to-end figure. */
  naive_pair_events_per_s?: number;
  naive_pair_lag_p50_ms?: number | null;
  naive_pair_lag_p99_ms?: number | null;
  naive_pair?: PairFigures;
}

export interface RatiosSection {
  ingest_to_naive?: number;
  ingest_to_add_ceiling?: number;
  ingest_to_bare_hono?: number;
  worker_to_naive?: number;
  worker_to_noop?: number;
  e2e_to_naive_pair?: number | null;
}

export interface TargetResult {
  /** e.g. `worker >= 3x naive worker`. */
  name: string;
  /** The figure held to the bound: a ratio, milliseconds or megabytes. */
  value: number | null;
  unit: 'x' | 'ms' | 'MB';
  /** The figure must be at least this... */
  min?: number;
  /** ...or below this. */
  max?: number;
  met: boolean;
}

/** A line of the printed table. */
export interface TableRow {
  group: BenchGroup;
  phase: string;
  perSecond: number;
  /** `req/s`, `adds/s`, `events/s`. */
  unit: string;
  /** Latency of the answers (HTTP phases), or lag from 202 to committed row (end to end). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Ratios to the references, e.g. `1.05x naive`. */
  versus: string[];
  /** Peak resident memory of the phase's processes. */
  peakRss: { name: string; mb: number | null }[];
  /** Key of the phase in `BenchResults.cpu`. */
  cpuKey?: string;
  /** A line under its CPU split, e.g. where an end-to-end rate broke its lag bound. */
  boundNote?: string;
}
