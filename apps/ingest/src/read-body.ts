import type { IncomingMessage } from 'node:http';
import type { HonoRequest } from 'hono';
import type { BodyLease } from './body-budget.js';
import { IngestError } from './errors.js';
import type { SlowBodyGuard, WatchedBody } from './slow-body-guard.js';

const DIGITS = /^\d+$/;

function tooLarge(maxBytes: number): IngestError {
  return new IngestError('payload_too_large', `The body is larger than ${maxBytes} bytes.`);
}

/** Bodies in flight clear within milliseconds: a sender may try again soon. */
const BUSY_RETRY_AFTER_SECONDS = 1;

function busy(): IngestError {
  return new IngestError(
    'unavailable',
    'Ingest is holding as many request bodies as it may at once; retry shortly.',
    BUSY_RETRY_AFTER_SECONDS,
  );
}

/** The Content-Length, when the request has a well-formed one. */
export function declaredLength(header: string | undefined): number | undefined {
  const declared = header?.trim();
  return declared !== undefined && DIGITS.test(declared) ? Number(declared) : undefined;
}

/**
 * The raw body, refused with 413 once it is known to exceed `maxBytes` (from the Content-Length,
 * before reading, or as a chunked body arrives) and never held beyond that.
 *
 * Under @hono/node-server the body is read from Node's IncomingMessage directly: the Request's
 * web stream would cost a ReadableStream per request, most of ingest's throughput. Each chunk is
 * taken from `lease` (the process's budget of bodies in flight) as it arrives, so a connection
 * that announces a large body and sends nothing holds nothing; a chunk that does not fit ends the
 * read with 503. `guard` cuts off a body that arrives too slowly (408).
 */
export function readBoundedBody(
  request: HonoRequest,
  incoming: IncomingMessage | undefined,
  maxBytes: number,
  declared: number | undefined,
  lease?: BodyLease,
  guard?: SlowBodyGuard,
): Promise<Buffer> {
  if (declared !== undefined && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  if (incoming) return new IncomingBodyRead(incoming, maxBytes, lease, guard).body;
  return readStream(request, maxBytes, lease).catch(unreadable);
}

/** The sender went away mid-body, or sent a malformed chunked encoding: its fault, not ours. */
function unreadable(error: unknown): never {
  if (error instanceof IngestError) throw error;
  throw new IngestError('invalid_payload', 'The body could not be read to its end.');
}

/** One body read from Node's stream, chunk by chunk, watched by the slow-body guard. */
class IncomingBodyRead implements WatchedBody {
  bytes = 0;
  readonly startedAt: number;
  windowBytes = 0;
  windowStartedAt: number;
  readonly body: Promise<Buffer>;
  private chunks: Buffer[] = [];
  private settled = false;
  private resolve!: (body: Buffer) => void;
  private reject!: (error: IngestError) => void;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly maxBytes: number,
    private readonly lease: BodyLease | undefined,
    private readonly guard: SlowBodyGuard | undefined,
  ) {
    this.startedAt = guard ? guard.now() : 0;
    this.windowStartedAt = this.startedAt;
    this.body = new Promise<Buffer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (incoming.readableEnded || incoming.readableDidRead) {
      this.fail(new IngestError('invalid_payload', 'The body could not be read to its end.'));
      return;
    }
    incoming.on('data', this.onData);
    incoming.on('end', this.onEnd);
    incoming.on('error', this.onAbort);
    incoming.on('close', this.onAbort);
    guard?.watch(this);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.maxBytes) this.fail(tooLarge(this.maxBytes));
    else if (this.lease && !this.lease.take(chunk.byteLength)) this.fail(busy());
    else this.chunks.push(chunk);
  };

  private readonly onEnd = (): void => {
    if (this.settled) return;
    const { chunks } = this;
    this.finish();
    this.resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.bytes));
  };

  private readonly onAbort = (): void => {
    // 'close' follows 'end' on a complete body: only a close before the end is a failure.
    if (!this.incoming.readableEnded) {
      this.fail(new IngestError('invalid_payload', 'The body could not be read to its end.'));
    }
  };

  /** Called by the guard: the body did not arrive in time. */
  cut(): void {
    this.fail(new IngestError('request_timeout', 'The body did not arrive in time.'));
  }

  private fail(error: IngestError): void {
    if (this.settled) return;
    this.finish();
    this.reject(error);
  }

  private finish(): void {
    this.settled = true;
    this.chunks = [];
    const { incoming } = this;
    incoming.off('data', this.onData);
    incoming.off('end', this.onEnd);
    incoming.off('error', this.onAbort);
    incoming.off('close', this.onAbort);
    this.guard?.unwatch(this);
  }
}

/** Without a Node stream (`app.request()`), the Request's web stream, counted the same way. */
async function readStream(request: HonoRequest, maxBytes: number, lease?: BodyLease): Promise<Buffer> {
  const stream = request.raw.body;
  if (!stream) return Buffer.alloc(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    if (lease && !lease.take(value.byteLength)) {
      await reader.cancel().catch(() => {});
      throw busy();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
