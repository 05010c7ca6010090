import type { RatiosSection, ReferenceSection, TableRow, TargetResult, WorkerSection } from './results.js';

/** What every suite of the benchmark is given. */
export interface SuiteContext {
  /** Makes the run's event ids, queue and database names its own. */
  readonly runId: string;
  /** Events per phase. */
  readonly events: number;
  readonly redisUrl: string;
  readonly log: (message: string) => void;
  readonly signal?: AbortSignal;
  /** When set, child processes run with `--cpu-prof` and write their profiles here. */
  readonly cpuProfileDir?: string;
}

/** A suite's share of the results: its own section, its reference figures, ratios, targets, table rows. */
export interface SuiteOutput {
  worker?: WorkerSection;
  reference: ReferenceSection;
  ratios: RatiosSection;
  targets: TargetResult[];
  rows: TableRow[];
}
