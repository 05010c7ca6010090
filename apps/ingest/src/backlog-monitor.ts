/** What the app needs to know about the queue's backlog, read from a cache and never from Redis. */
export interface Backlog {
  /** Jobs waiting as last read; undefined before the first read. */
  readonly depth: number | undefined;
  /** True while the backlog is at or over its bound: deliveries are refused with 503. */
  readonly full: boolean;
}

export interface BacklogMonitorOptions {
  /** One round trip that counts the waiting jobs (`EventProducer.backlog`). */
  readonly read: () => Promise<number>;
  readonly max: number;
  readonly intervalMs?: number;
  /** Called when the backlog becomes full and when it drains below the bound again (for a log line). */
  readonly onChange?: (full: boolean, depth: number) => void;
}

/**
 * Keeps the queue's backlog fresh in memory (a read every 500 ms by default) so that the hot path
 * checks a number instead of asking Redis per request. The bound can be overshot by what arrives
 * between two reads. A failed read keeps the last count: with Redis away, enqueueing answers 503
 * anyway.
 */
export class BacklogMonitor implements Backlog {
  private count: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(private readonly options: BacklogMonitorOptions) {}

  get depth(): number | undefined {
    return this.count;
  }

  get full(): boolean {
    return this.count !== undefined && this.count >= this.options.max;
  }

  /** Reads the backlog now; concurrent calls share one read. */
  refresh(): Promise<void> {
    this.reading ??= this.options
      .read()
      .then(
        (count) => {
          const wasFull = this.full;
          this.count = count;
          if (this.full !== wasFull) this.options.onChange?.(this.full, count);
        },
        () => {},
      )
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  start(): this {
    if (this.timer) return this;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs ?? 500);
    // Never what keeps the process alive.
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
