import autocannon from 'autocannon';
import type { SignedDeliveries } from './signed-deliveries.js';

export interface LoadOptions {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `/webhooks/<source>`. */
  readonly path: string;
  readonly connections: number;
  readonly durationSeconds: number;
  /**
   * Requests per second over all connections (autocannon's `overallRate`: each connection sends its
   * share of a second's quota, then waits for the next second); none: as fast as answers come.
   */
  readonly overallRate?: number;
  readonly deliveries: SignedDeliveries;
  readonly signal?: AbortSignal;
  /** Polled while the load runs; answering true stops it early (e.g. a backlog that can only grow). */
  readonly stopWhen?: () => Promise<boolean>;
}

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  seconds: number;
  /** Requests sent. */
  sent: number;
  /** Answered 202. */
  accepted: number;
  acceptedPerSecond: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  /** Of the 202 answers, in ms. */
  latencyMs: LatencySummary | null;
  stoppedEarly: boolean;
}

const WATCH_INTERVAL_MS = 500;
const REQUEST_TIMEOUT_SECONDS = 10;

/** The value below which `share` of the sorted `values` fall (nearest rank). */
export function percentile(sorted: ArrayLike<number>, share: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Response times in a growing typed array: a million of them cost 8 MB and one sort. */
class Latencies {
  private values = new Float64Array(1 << 16);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  summary(): LatencySummary | null {
    if (this.length === 0) return null;
    const sorted = this.values.slice(0, this.length).sort();
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      p50: round(percentile(sorted, 0.5)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted[sorted.length - 1] ?? Number.NaN),
    };
  }
}

/**
 * Signed deliveries from autocannon in the bench's own process, each request with a fresh id and
 * signature (`setupRequest`). Latencies are kept exactly (autocannon's histogram has 1 ms steps) and
 * only for 202 answers; coordinated omission is not corrected, as a paced run measures lag, not latency.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  options.signal?.throwIfAborted();
  const latencies = new Latencies();
  const statuses: Record<string, number> = {};
  const sentBefore = options.deliveries.count;
  let stoppedEarly = false;
  let instance: autocannon.Instance | undefined;
  const stop = () => instance?.stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  let checking = false;
  const { stopWhen } = options;
  const watch =
    stopWhen === undefined
      ? undefined
      : setInterval(() => {
          if (checking) return;
          checking = true;
          stopWhen()
            .then((early) => {
              if (early && !stoppedEarly) {
                stoppedEarly = true;
                stop();
              }
            })
            .catch(() => {})
            .finally(() => {
              checking = false;
            });
        }, WATCH_INTERVAL_MS);
  const started = performance.now();
  let result: autocannon.Result;
  try {
    result = await new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon(
        {
          url: options.url,
          connections: options.connections,
          duration: options.durationSeconds,
          timeout: REQUEST_TIMEOUT_SECONDS,
          ...(options.overallRate === undefined
            ? {}
            : { overallRate: options.overallRate, ignoreCoordinatedOmission: true }),
          requests: [
            {
              method: 'POST',
              path: options.path,
              setupRequest: (request) => {
                const delivery = options.deliveries.next();
                request.headers = delivery.headers;
                request.body = delivery.body;
                return request;
              },
            },
          ],
        },
        (error: unknown, done: autocannon.Result) =>
          error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done),
      );
      instance.on('response', (_client, status, _bytes, ms) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 202) latencies.add(ms);
      });
    });
  } finally {
    clearInterval(watch);
    options.signal?.removeEventListener('abort', stop);
  }
  const seconds = (performance.now() - started) / 1000;
  options.signal?.throwIfAborted();
  const accepted = statuses['202'] ?? 0;
  return {
    seconds: Math.round(seconds * 1000) / 1000,
    sent: options.deliveries.count - sentBefore,
    accepted,
    acceptedPerSecond: Math.round(accepted / seconds),
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: latencies.summary(),
    stoppedEarly,
  };
}
