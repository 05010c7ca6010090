/**
 * The bytes of request bodies ingest holds at once, across every request. A body has to be read
 * whole before its signature can be checked, so without this bound anyone, signature or not, could
 * open many connections and trickle a body of `maxBodyBytes` into each, and ingest would hold them
 * all: memory would grow with the connections until the process is killed. With it, a body that
 * would take the total past the bound is refused with 503 before it is read, and memory stays
 * bounded whatever the load.
 *
 * One body is always admitted when nothing else is held, so a source's largest allowed body can
 * be delivered even when it is larger than the bound.
 */
export class BodyBudget {
  private held = 0;

  constructor(
    readonly maxBytes: number,
    /** Called on each refusal, e.g. to log that the bound was reached. */
    private readonly onRefused?: (heldBytes: number) => void,
  ) {}

  /** Bytes of bodies held now. */
  get heldBytes(): number {
    return this.held;
  }

  /** What one request holds; give it all back with `release` once the request is answered. */
  lease(): BodyLease {
    return new BodyLease(this);
  }

  /** @internal Through a lease. */
  take(bytes: number): boolean {
    if (this.held > 0 && this.held + bytes > this.maxBytes) {
      this.onRefused?.(this.held);
      return false;
    }
    this.held += bytes;
    return true;
  }

  /** @internal Through a lease. */
  give(bytes: number): void {
    this.held -= bytes;
  }
}

export class BodyLease {
  private bytes = 0;

  constructor(private readonly budget: BodyBudget) {}

  /** Takes `bytes` more for this request, or answers false (and takes nothing) if they do not fit. */
  take(bytes: number): boolean {
    if (!this.budget.take(bytes)) return false;
    this.bytes += bytes;
    return true;
  }

  /** Gives back everything this request took; harmless to call twice. */
  release(): void {
    this.budget.give(this.bytes);
    this.bytes = 0;
  }
}
