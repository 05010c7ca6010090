/** What one benchmark run writes to `bench/results/latest.json`. */
export interface BenchResults {
  /** When the run ended, ISO 8601. */
  timestamp: string;
  /** True for `--quick`: fewer events, figures noisier. */
  quick: boolean;
  /** Events each drain phase starts with in its queue. */
  events: number;
  machine: MachineInfo;
  /** Absent when the worker suite did not run. */
  worker?: WorkerSection;
  // The ingest suite adds `ingest` (rps, p99_ms) here, and the end-to-end suite `e2e`
  // (events_per_s, lag_p99_ms); each also adds its reference figures to `reference`.
  /** Figures taken in the same run to compare against: what the code under test is held to. */
  reference: ReferenceSection;
  ratios: RatiosSection;
  targets: TargetResult[];
}

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  total_memory_mb: number;
  node: string;
  platform: string;
  redis: string;
  postgres: string;
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

export interface ReferenceSection {
  /** A BullMQ worker whose processor does nothing (concurrency 100): the ceiling of any BullMQ worker. */
  bullmq_noop_drain_per_s?: number;
  bullmq_noop_drain_peak_rss_mb?: number | null;
  /** A BullMQ worker running one transaction with one INSERT per job (concurrency 50). */
  naive_worker_per_s?: number;
  naive_worker_peak_rss_mb?: number | null;
}

export interface RatiosSection {
  worker_to_naive?: number;
  worker_to_noop?: number;
}

export interface TargetResult {
  /** e.g. `worker >= 3x naive worker`. */
  name: string;
  ratio: number;
  min: number;
  met: boolean;
}

/** A line of the printed table. */
export interface TableRow {
  phase: string;
  perSecond: number;
  /** `events/s` or `req/s`. */
  unit: string;
  ratioToNaive: number | null;
  ratioToNoop: number | null;
  peakRssMb: number | null;
}
