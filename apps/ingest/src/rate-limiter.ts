import type { RateLimit } from '@inlet/config';
import type { RedisRateLimitStore, WindowCount } from '@inlet/queue';

export type RateDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

const ALLOWED: RateDecision = { allowed: true };

/** Longest wait for Redis before a reservation is counted locally instead. */
const RESERVE_TIMEOUT_MS = 500;

/** This instance's view of one source's current window. */
export interface WindowState {
  readonly key: string;
  limit: RateLimit;
  /** Local clock time after which the reserved points must not be spent. */
  endsAt: number;
  /** Points reserved from the shared window and not spent yet. */
  remaining: number;
  /** The shared window has no points left to hand out until `endsAt`. */
  exhausted: boolean;
  /** The reservation in flight, which every request short of points waits for. */
  pending: Promise<void> | undefined;
}

export interface SourceRateLimiterOptions {
  readonly store: RedisRateLimitStore;
  readonly now?: () => number;
  /** Redis failures, once per run of them: requests are then counted locally. */
  readonly onStoreError?: (error: Error) => void;
}

/**
 * How many points an instance takes from Redis at a time: one in twenty of the limit, so a source
 * at its full rate costs each instance about twenty round trips per window, and small limits
 * (under 40) are shared point by point.
 */
export function chunkSizeFor(limit: RateLimit): number {
  return Math.max(1, Math.min(100, Math.floor(limit.points / 20)));
}

/**
 * Per-source fixed-window rate limits shared by every ingest instance, without a Redis round trip
 * per request: each instance reserves points from the window's counter in Redis a chunk at a time
 * (one INCRBY) and spends them locally. Redis never hands out more than `points` per window, so
 * instances together never admit more than the limit in a window; an instance may end a window
 * holding up to a chunk less one of unspent points, so the busiest instance can be refused
 * slightly before the limit is reached. Once the window is spent, every instance refuses locally
 * until it ends. When Redis cannot be reached each instance counts on its own (fail open):
 * real traffic is not refused for an outage, and the limit then holds per instance.
 */
export class SourceRateLimiter {
  private readonly windows = new Map<string, WindowState>();
  private readonly local = new Map<string, { total: number; endsAt: number }>();
  private readonly now: () => number;
  private storeFailing = false;

  constructor(private readonly options: SourceRateLimiterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Spends one point of `source`'s limit: synchronous unless this instance must reserve more. */
  consume(source: string, limit: RateLimit): RateDecision | Promise<RateDecision> {
    return this.spend(this.window(source, limit), 0);
  }

  /** The window `source` spends from, to look up once per request for `check` and `spendFrom`. */
  window(source: string, limit: RateLimit): WindowState {
    // The duration is in the key so that a changed limit does not inherit an old, longer window.
    const key = `${source}:${limit.durationSeconds}`;
    let state = this.windows.get(key);
    if (state === undefined) {
      state = { key, limit, endsAt: 0, remaining: 0, exhausted: false, pending: undefined };
      this.windows.set(key, state);
    }
    state.limit = limit;
    return state;
  }

  /**
   * Refuses, without spending a point or asking Redis, while this instance knows the window to be
   * spent: a delivery can then be refused before its body is read, and spend its point only once
   * it has verified (`spendFrom`).
   */
  check(state: WindowState): RateDecision {
    if (!state.exhausted || state.remaining > 0) return ALLOWED;
    const now = this.now();
    if (now >= state.endsAt) return ALLOWED;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((state.endsAt - now) / 1000)) };
  }

  /** Spends one point from a window `window` gave. */
  spendFrom(state: WindowState): RateDecision | Promise<RateDecision> {
    return this.spend(state, 0);
  }

  /**
   * Gives back a point spent from `state` while its window ended at `spentUntil` (a delivery that
   * then failed to verify). It goes to this instance's unspent points, with no Redis round trip;
   * a point spent in a window that has since ended is not given back.
   */
  refund(state: WindowState, spentUntil: number): void {
    if (state.endsAt === spentUntil && this.now() < state.endsAt) state.remaining += 1;
  }

  private spend(state: WindowState, resets: number): RateDecision | Promise<RateDecision> {
    const { key, limit } = state;
    const now = this.now();
    if (now >= state.endsAt) {
      // A window that keeps ending as soon as it is reserved (a clock jump): admit rather than loop.
      if (resets >= 3) return ALLOWED;
      if (state.endsAt !== 0) resets += 1;
      state.remaining = 0;
      state.exhausted = false;
    }
    if (state.remaining > 0) {
      state.remaining -= 1;
      return ALLOWED;
    }
    if (state.exhausted) {
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((state.endsAt - now) / 1000)) };
    }
    // Requests short of points wait for one reservation together, then try again: each reservation
    // either hands out points or marks the window exhausted, so this ends.
    state.pending ??= this.reserve(key, state, limit).finally(() => {
      state.pending = undefined;
    });
    return state.pending.then(() => this.spend(state, resets));
  }

  private async reserve(key: string, state: WindowState, limit: RateLimit): Promise<void> {
    const chunk = chunkSizeFor(limit);
    const windowMs = limit.durationSeconds * 1000;
    // Taken before asking, so the local window never outlasts the shared one.
    const startedAt = this.now();
    const count = await this.reserveShared(key, chunk, windowMs).catch((error: unknown) => {
      if (!this.storeFailing) this.options.onStoreError?.(error as Error);
      this.storeFailing = true;
      return this.reserveLocal(key, chunk, windowMs, startedAt);
    });
    const granted = Math.max(0, Math.min(chunk, limit.points - (count.total - chunk)));
    state.endsAt = startedAt + count.resetInMs;
    state.remaining = granted;
    state.exhausted = count.total >= limit.points;
  }

  private async reserveShared(key: string, chunk: number, windowMs: number): Promise<WindowCount> {
    const { store } = this.options;
    if (!store.available) throw new Error('Redis is not connected');
    let timer: NodeJS.Timeout | undefined;
    try {
      const count = await Promise.race([
        store.reserve(key, chunk, windowMs),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer in ${RESERVE_TIMEOUT_MS} ms`)),
            RESERVE_TIMEOUT_MS,
          );
        }),
      ]);
      this.storeFailing = false;
      return count;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The same fixed window as in Redis, kept in this process while Redis is away. */
  private reserveLocal(key: string, chunk: number, windowMs: number, now: number): WindowCount {
    let window = this.local.get(key);
    if (window === undefined || now >= window.endsAt) {
      window = { total: 0, endsAt: now + windowMs };
      this.local.set(key, window);
    }
    window.total += chunk;
    return { total: window.total, resetInMs: window.endsAt - now };
  }
}
