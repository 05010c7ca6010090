interface Pending {
  readonly deadline: number;
  readonly expire: () => void;
}

/**
 * Time limits for many promises on one interval timer instead of a timer each: under load ingest
 * has thousands of adds a second in flight, and a setTimeout plus clearTimeout per add shows in its
 * profile. A limit fires up to `resolutionMs` late, which is nothing against limits of seconds.
 */
export class SharedTimeouts {
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs = 100) {}

  /** Settles as `promise` does, or rejects with `onTimeout()` once `timeoutMs` have passed. */
  within<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = {
        deadline: performance.now() + timeoutMs,
        expire: () => reject(onTimeout()),
      };
      this.pending.add(entry);
      this.timer ??= setInterval(() => this.sweep(), this.resolutionMs).unref();
      promise.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (error: unknown) => {
          this.pending.delete(entry);
          reject(error);
        },
      );
    });
  }

  /** Promises still waiting. */
  get size(): number {
    return this.pending.size;
  }

  private sweep(): void {
    const now = performance.now();
    for (const entry of this.pending) {
      if (entry.deadline > now) continue;
      this.pending.delete(entry);
      entry.expire();
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
