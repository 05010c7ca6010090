export interface LoginLimiterOptions {
  /** Failed logins an address may make per window before it is refused (default 10). */
  readonly maxFailures?: number;
  /** Window length in ms (default 60 000). */
  readonly windowMs?: number;
  /** Addresses remembered at once (default 10 000); the oldest is forgotten past that. */
  readonly maxTracked?: number;
  readonly now?: () => number;
}

interface Window {
  failures: number;
  resetAt: number;
}

/**
 * Counts failed logins per client address in fixed windows, in memory, with a bounded number of
 * addresses so a flood of them cannot grow it without end. One dashboard process is the usual
 * deployment; several processes each keep their own count.
 */
export class LoginLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(options: LoginLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxTracked = options.maxTracked ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const window = this.current(address);
    if (window === undefined || window.failures < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.resetAt - this.now()) / 1000));
  }

  /** Records a failed login from `address`. */
  fail(address: string): void {
    const window = this.current(address);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.windows.size >= this.maxTracked) this.evict();
    this.windows.set(address, { failures: 1, resetAt: this.now() + this.windowMs });
  }

  /** Addresses remembered now (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    if (window !== undefined && window.resetAt <= this.now()) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }

  /** Drops expired windows, and the oldest one if none has expired. */
  private evict(): void {
    const now = this.now();
    for (const [address, window] of this.windows) {
      if (window.resetAt <= now) this.windows.delete(address);
    }
    if (this.windows.size >= this.maxTracked) {
      // Maps iterate in insertion order: the first key is the oldest window.
      const oldest = this.windows.keys().next();
      if (oldest.done !== true) this.windows.delete(oldest.value);
    }
  }
}
