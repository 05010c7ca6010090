/**
 * The bytes of request bodies ingest holds at once, across every request. A body has to be read
 * whole before its signature can be checked, so without this bound anyone, signature or not, could
 * open many connections and trickle a body of `maxBodyBytes` into each, and ingest would hold them
 * all: memory would grow with the connections until the process is killed. With it, a chunk that
 * would take the total past the bound is refused (503), and memory stays bounded whatever the load.
 *
 * Only bytes that have arrived are counted, so a connection that announces a large body and sends
 * nothing holds nothing. Two shares keep one sender from taking it all:
 * - one client address (IPv6 by /64) holds at most `maxBytesPerClient`;
 * - `reservedBytes` of the bound are kept for small bodies (at most `smallBodyBytes`, by their
 *   Content-Length or, without one, by what has arrived), so that large bodies, however many and
 *   from however many addresses, never keep an ordinary delivery out.
 *
 * One body is always admitted when nothing else is held (by anyone, or by its client for the
 * client's share), so a source's largest allowed body can be delivered even when it is larger
 * than the bound.
 */
export interface BodyBudgetOptions {
  /** Bytes one client address may hold at once; the whole bound by default. */
  readonly maxBytesPerClient?: number;
  /** Bodies up to this size may use the reserved share (64 KiB by default). */
  readonly smallBodyBytes?: number;
  /** Bytes only small bodies may use: a quarter of the bound by default. */
  readonly reservedBytes?: number;
}

export const SMALL_BODY_BYTES = 64 * 1024;

export class BodyBudget {
  private held = 0;
  /** Bytes held by large bodies, which may not reach into the reserved share. */
  private largeHeld = 0;
  private readonly byClient = new Map<string, number>();
  readonly maxBytesPerClient: number;
  readonly smallBodyBytes: number;
  readonly reservedBytes: number;

  constructor(
    readonly maxBytes: number,
    /** Called on each refusal, e.g. to log that the bound was reached. */
    private readonly onRefused?: (heldBytes: number) => void,
    options: BodyBudgetOptions = {},
  ) {
    this.maxBytesPerClient = options.maxBytesPerClient ?? maxBytes;
    this.smallBodyBytes = options.smallBodyBytes ?? SMALL_BODY_BYTES;
    this.reservedBytes = options.reservedBytes ?? Math.floor(maxBytes / 4);
  }

  /** Bytes of bodies held now. */
  get heldBytes(): number {
    return this.held;
  }

  /** Client addresses holding bytes now (for tests and metrics). */
  get clientsHolding(): number {
    return this.byClient.size;
  }

  /**
   * What one request holds; give it all back with `release` once the request is answered.
   * `client` is the client's key (see `clientKey`); `declaredBytes` the Content-Length, if any.
   */
  lease(client?: string, declaredBytes?: number): BodyLease {
    return new BodyLease(this, client, declaredBytes !== undefined && declaredBytes > this.smallBodyBytes);
  }

  /** @internal Through a lease. */
  take(lease: BodyLease, bytes: number, large: boolean): boolean {
    const others = this.held - lease.bytes;
    if (others > 0) {
      if (this.held + bytes > this.maxBytes) return this.refuse();
      if (large) {
        // A body turning large brings the bytes it already holds into the large share.
        const joining = lease.large ? 0 : lease.bytes;
        if (this.largeHeld + joining + bytes > this.maxBytes - this.reservedBytes) return this.refuse();
      }
    }
    const { client } = lease;
    let clientHeld = 0;
    if (client !== undefined) {
      clientHeld = this.byClient.get(client) ?? 0;
      if (clientHeld - lease.bytes > 0 && clientHeld + bytes > this.maxBytesPerClient) return this.refuse();
      this.byClient.set(client, clientHeld + bytes);
    }
    this.held += bytes;
    if (large) this.largeHeld += bytes + (lease.large ? 0 : lease.bytes);
    return true;
  }

  /** @internal Through a lease. */
  give(lease: BodyLease): void {
    const { bytes, client } = lease;
    this.held -= bytes;
    if (lease.large) this.largeHeld -= bytes;
    if (client !== undefined) {
      const left = (this.byClient.get(client) ?? 0) - bytes;
      // Entries go as soon as a client holds nothing: the map holds only clients reading now.
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
    }
  }

  private refuse(): false {
    this.onRefused?.(this.held);
    return false;
  }
}

export class BodyLease {
  /** @internal */
  bytes = 0;

  constructor(
    private readonly budget: BodyBudget,
    readonly client: string | undefined,
    /** @internal A large body: announced, or grown, past the budget's `smallBodyBytes`. */
    public large: boolean,
  ) {}

  /** Bytes this request holds now. */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Takes `bytes` more for this request, or answers false (and takes nothing) if they do not fit. */
  take(bytes: number): boolean {
    const large = this.large || this.bytes + bytes > this.budget.smallBodyBytes;
    if (!this.budget.take(this, bytes, large)) return false;
    this.bytes += bytes;
    this.large = large;
    return true;
  }

  /** Gives back everything this request took; harmless to call twice. */
  release(): void {
    this.budget.give(this);
    this.bytes = 0;
    this.large = false;
  }
}
