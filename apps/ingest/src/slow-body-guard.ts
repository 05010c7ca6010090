/** A body being read, as the guard sees it. */
export interface WatchedBody {
  /** Bytes received so far. */
  readonly bytes: number;
  /** When ingest started reading it. */
  readonly startedAt: number;
  /** Bytes received when the current check window began, and when that was. */
  windowBytes: number;
  windowStartedAt: number;
  /** Stops the read: the request is answered 408 and its bytes are given back. */
  cut(): void;
}

export interface SlowBodyGuardOptions {
  /** A body must arrive whole within this long of ingest starting to read it. */
  readonly timeoutMs: number;
  /** Each check window must bring at least this many bytes a second (or the rest of the body). */
  readonly minBytesPerSecond: number;
  /** How long one check window lasts; 2 s by default. */
  readonly windowMs?: number;
  /** How often reads are checked; 500 ms by default. */
  readonly intervalMs?: number;
  readonly now?: () => number;
  /** Called for each body cut off, e.g. to count it. */
  readonly onCut?: () => void;
}

/**
 * Cuts off request bodies that arrive too slowly, so that a connection trickling a body (or sending
 * none after its headers) gives its bytes and its slot back within seconds instead of holding them
 * for the server's whole request timeout. One timer checks every read in progress: a read costs a
 * Set insertion and deletion, not a timer of its own.
 *
 * A read is cut when the whole body has not arrived within `timeoutMs`, or when a check window of
 * `windowMs` brought fewer than `minBytesPerSecond × windowMs` bytes: a body that arrives in
 * a burst and then stalls is caught by the window, one that trickles at just over the rate by
 * the deadline.
 */
export class SlowBodyGuard {
  private readonly reads = new Set<WatchedBody>();
  private timer: NodeJS.Timeout | undefined;
  readonly now: () => number;
  private readonly windowMs: number;
  private readonly minWindowBytes: number;

  constructor(private readonly options: SlowBodyGuardOptions) {
    this.now = options.now ?? Date.now;
    this.windowMs = options.windowMs ?? 2000;
    this.minWindowBytes = Math.ceil((options.minBytesPerSecond * this.windowMs) / 1000);
  }

  /** Reads in progress. */
  get watching(): number {
    return this.reads.size;
  }

  watch(read: WatchedBody): void {
    this.reads.add(read);
  }

  unwatch(read: WatchedBody): void {
    this.reads.delete(read);
  }

  /** Checks every read now and cuts the slow ones; answers how many were cut. */
  check(): number {
    const now = this.now();
    let cut = 0;
    for (const read of this.reads) {
      const slow =
        now - read.startedAt >= this.options.timeoutMs ||
        (now - read.windowStartedAt >= this.windowMs && read.bytes - read.windowBytes < this.minWindowBytes);
      if (slow) {
        this.reads.delete(read);
        cut += 1;
        this.options.onCut?.();
        read.cut();
      } else if (now - read.windowStartedAt >= this.windowMs) {
        read.windowBytes = read.bytes;
        read.windowStartedAt = now;
      }
    }
    return cut;
  }

  start(): this {
    if (this.timer) return this;
    this.timer = setInterval(() => this.check(), this.options.intervalMs ?? 500);
    // Never what keeps the process alive.
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
