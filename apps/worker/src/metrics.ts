import type { EventJob } from '@inlet/queue';
import type { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { WriteOutcome } from './batch-writer.js';

/** The worker's Prometheus metrics; labels are source names from the config, never ids. */
export function createWorkerMetrics(options: { queue: Queue; sources: ReadonlySet<string> }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // A source the config does not know (an old job) is counted under one label, keeping cardinality bounded.
  const label = (source: string) =>
    options.sources.size === 0 || options.sources.has(source) ? source : 'unknown';
  const events = new Counter({
    name: 'inlet_worker_events_total',
    help: 'Events the worker finished, by source and outcome (stored, duplicate, replayed, failed, waiting_for_database).',
    labelNames: ['source', 'outcome'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'inlet_db_transaction_retries_total',
    help: 'Transactions run again after a serialization failure (SQLSTATE 40001, restart transaction).',
    registers: [registry],
  });
  const lag = new Histogram({
    name: 'inlet_event_lag_seconds',
    help: 'Time from ingest accepting an event to the worker committing it.',
    labelNames: ['source'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  new Gauge({
    name: 'inlet_queue_depth',
    help: 'Jobs in the events queue, by state.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await options.queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'failed',
        'completed',
        'prioritized',
      );
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
  return {
    registry,
    /** Exposes the bytes of job data in flight, read at scrape time. */
    trackJobBytesInFlight(read: () => number) {
      new Gauge({
        name: 'inlet_worker_job_bytes_in_flight',
        help: 'Bytes of job data the worker holds now; past WORKER_MAX_BODY_BYTES_IN_FLIGHT it takes no new job.',
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    outcome(event: EventJob, outcome: WriteOutcome | 'failed' | 'waiting_for_database') {
      events.inc({ source: label(event.source), outcome });
    },
    retry() {
      retries.inc();
    },
    committed(event: EventJob, lagSeconds: number) {
      lag.observe({ source: label(event.source) }, lagSeconds);
    },
  };
}
