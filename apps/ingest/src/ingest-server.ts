import { createServer, type Server, type ServerOptions, STATUS_CODES } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import { errorBody, IngestError, statusFor } from './errors.js';

/**
 * Bounds on what one connection may cost before ingest has decided anything about it. Bodies are
 * bounded per source (`maxBodyBytes`); these bound the rest.
 */
export const ingestServerOptions = {
  /** Request line and headers together; larger gets 431 before any handler runs. */
  maxHeaderSize: 16 * 1024,
  /** Slowloris: all headers must arrive within 10 s of the connection's request starting. */
  headersTimeout: 10_000,
  /** A whole request, body included, within 30 s: a body trickled byte by byte is cut off. */
  requestTimeout: 30_000,
  /** Idle keep-alive connections close after 5 s (Node's default, kept explicit). */
  keepAliveTimeout: 5_000,
  /** How often the two timeouts above are checked; Node's default of 30 s would let them run 40 s. */
  connectionsCheckingInterval: 1_000,
  /**
   * Node would answer a missing Host with a bare 400; the adapter refuses it too, with the
   * contract's error body.
   */
  requireHostHeader: false,
} as const satisfies ServerOptions;

/**
 * A TLS handshake must finish within 10 s, like the headers after it (Node's default allows 120 s
 * of a connection that has not said a word of HTTP yet).
 */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Headers past this count are dropped by Node's parser rather than kept in memory. */
const MAX_HEADERS_COUNT = 100;

/** What Node's parser refused, as one of the contract's error bodies. */
function parserRefusal(code: string | undefined): IngestError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new IngestError('headers_too_large', 'The request line and headers are larger than 16 KiB.');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new IngestError('payload_too_large', 'The chunk extensions are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new IngestError('request_timeout', 'The request did not arrive in time.');
    default:
      return new IngestError('bad_request', 'The request is not valid HTTP/1.1.');
  }
}

/**
 * Answers what Node's HTTP parser refuses (bad syntax, headers over the limit, a request that took
 * too long) with the same JSON error body as everything else, where Node would send a bare status.
 * Like Node's own handler, it writes nothing when a response on that connection has started.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight: unknown = Reflect.get(socket, '_httpMessage');
  const started =
    typeof inFlight === 'object' && inFlight !== null && Reflect.get(inFlight, 'headersSent') === true;
  if (error.code !== 'ECONNRESET' && socket.writable && !started) {
    const refusal = parserRefusal(error.code);
    const status = statusFor(refusal.code);
    const body = errorBody(refusal);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * A request @hono/node-server cannot turn into a Request (a Host header or target that is not a
 * URL), answered like any other refusal.
 */
function malformedRequestResponse(error: unknown): Response {
  const refusal =
    error instanceof RequestError
      ? new IngestError('bad_request', 'The request target or Host header is malformed.')
      : new IngestError('internal_error', 'The delivery could not be processed.');
  return new Response(errorBody(refusal), {
    status: statusFor(refusal.code),
    headers: { 'Content-Type': 'application/json' },
  });
}

export type IngestServer = Server | HttpsServer;

/**
 * The HTTP server for an app's `fetch`, with the bounds above, and every refusal (its own, the
 * parser's, the adapter's) answered with the contract's JSON error body. Not listening yet. Given
 * a certificate and key (PEM), it serves HTTPS with the same bounds; given `maxConnections`, it
 * closes connections past that many at once.
 */
export function createIngestServer(
  fetch: Parameters<typeof getRequestListener>[0],
  tls?: { readonly cert: string; readonly key: string },
  limits: { readonly maxConnections?: number } = {},
): IngestServer {
  const listener = getRequestListener(fetch, { errorHandler: malformedRequestResponse });
  const server: IngestServer = tls
    ? createHttpsServer(
        { ...ingestServerOptions, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, cert: tls.cert, key: tls.key },
        listener,
      )
    : createServer(ingestServerOptions, listener);
  server.maxHeadersCount = MAX_HEADERS_COUNT;
  // Past it Node closes each new connection as it arrives and emits 'drop'.
  if (limits.maxConnections !== undefined) server.maxConnections = limits.maxConnections;
  server.on('clientError', answerClientError);
  return server;
}
