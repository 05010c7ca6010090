import type { RateLimit } from '@inlet/config';

interface FailureWindow {
  count: number;
  endsAt: number;
}

export interface FailureLimiterOptions {
  /** Failed requests one client may make to one source per window. */
  readonly limit: RateLimit;
  /** Clients tracked at once; past it new ones are not tracked (so not refused) until windows end. */
  readonly maxClients?: number;
  readonly now?: () => number;
}

const DEFAULT_MAX_CLIENTS = 100_000;

/**
 * Counts, in this process, the requests from one client address (IPv6 by /64) to one source that
 * failed (bad signature, unknown source, unreadable body), and refuses that client's requests to
 * that source, before their body is read, once they reach the limit in a fixed window. Forgeries
 * therefore cost the forger and never the source's own rate limit, which only verified deliveries
 * spend; and a client that forges against one source keeps its deliveries to the others.
 *
 * No Redis round trip: a client's count is per instance, so with N instances a client may fail up
 * to N × the limit per window. Memory is bounded by `maxClients`.
 */
export class FailureLimiter {
  /** By source (or `unknown`), then by client key. */
  private readonly windows = new Map<string, Map<string, FailureWindow>>();
  private size = 0;
  private lastSweep = 0;
  private readonly now: () => number;
  private readonly windowMs: number;
  private readonly maxClients: number;

  constructor(private readonly options: FailureLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.limit.durationSeconds * 1000;
    this.maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  }

  /** Seconds until `client` may try `source` again, or 0 when it may now. One Map lookup or two. */
  retryAfter(source: string, client: string): number {
    if (this.size === 0) return 0;
    const entry = this.windows.get(source)?.get(client);
    if (entry === undefined || entry.count < this.options.limit.points) return 0;
    const left = entry.endsAt - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Counts one failed request by `client` to `source`. */
  failed(source: string, client: string): void {
    const now = this.now();
    let bySource = this.windows.get(source);
    if (bySource === undefined) {
      bySource = new Map();
      this.windows.set(source, bySource);
    }
    const entry = bySource.get(client);
    if (entry !== undefined && now < entry.endsAt) {
      entry.count += 1;
      return;
    }
    if (entry === undefined) {
      if (this.size >= this.maxClients && !this.sweep(now)) return;
      this.size += 1;
      bySource.set(client, { count: 1, endsAt: now + this.windowMs });
      return;
    }
    entry.count = 1;
    entry.endsAt = now + this.windowMs;
  }

  /** Clients tracked now. */
  get tracked(): number {
    return this.size;
  }

  /** Drops ended windows, at most once a second (a sweep walks every entry); true if room was made. */
  private sweep(now: number): boolean {
    if (now - this.lastSweep < 1000) return false;
    this.lastSweep = now;
    for (const bySource of this.windows.values()) {
      for (const [client, entry] of bySource) {
        if (now >= entry.endsAt) {
          bySource.delete(client);
          this.size -= 1;
        }
      }
    }
    return this.size < this.maxClients;
  }
}
