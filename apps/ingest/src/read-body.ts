import type { HonoRequest } from 'hono';
import type { BodyLease } from './body-budget.js';
import { IngestError } from './errors.js';

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

/**
 * The raw body, refused with 413 once it is known to exceed `maxBytes` and never held beyond that.
 * With a Content-Length (nearly every provider sends one) the size is known before reading, and
 * Node's parser never delivers more than it announces, so the body is read in one go through
 * @hono/node-server's direct path. Hono's bodyLimit middleware touches `req.raw.body`, which
 * builds a web ReadableStream per request and costs ingest most of its throughput; only a chunked
 * body, whose size is unknown, is read as a stream here, counting as it goes.
 *
 * The bytes are taken from `lease` (the process's budget of bodies in flight) before they are read:
 * a body that does not fit is refused with 503 and not read.
 */
export function readBoundedBody(request: HonoRequest, maxBytes: number, lease?: BodyLease): Promise<Buffer> {
  const declared = request.header('content-length')?.trim();
  if (declared !== undefined && DIGITS.test(declared)) {
    const size = Number(declared);
    if (size > maxBytes) return Promise.reject(tooLarge(maxBytes));
    if (lease && !lease.take(size)) return Promise.reject(busy());
    // One promise on the common path: this runs for every delivery.
    return request.arrayBuffer().then((body) => Buffer.from(body), unreadable);
  }
  return readChunked(request, maxBytes, lease).catch(unreadable);
}

/** The sender went away mid-body, or sent a malformed chunked encoding: its fault, not ours. */
function unreadable(error: unknown): never {
  if (error instanceof IngestError) throw error;
  throw new IngestError('invalid_payload', 'The body could not be read to its end.');
}

async function readChunked(request: HonoRequest, maxBytes: number, lease?: BodyLease): Promise<Buffer> {
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
