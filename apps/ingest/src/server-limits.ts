import type { ServerOptions } from 'node:http';
import type { ServerType } from '@hono/node-server';

/**
 * Bounds on what one connection may cost before ingest has decided anything about it. Bodies are
 * bounded per source (`maxBodyBytes`); these bound the rest.
 */
export const ingestServerOptions = {
  /** Request line and headers together; larger gets 431 from Node before any handler runs. */
  maxHeaderSize: 16 * 1024,
  /** Slowloris: all headers must arrive within 10 s of the connection's request starting. */
  headersTimeout: 10_000,
  /** A whole request, body included, within 30 s: a body trickled byte by byte is cut off. */
  requestTimeout: 30_000,
  /** Idle keep-alive connections close after 5 s (Node's default, kept explicit). */
  keepAliveTimeout: 5_000,
  /** How often the two timeouts above are checked; Node's default of 30 s would let them run 40 s. */
  connectionsCheckingInterval: 1_000,
} as const satisfies ServerOptions;

/** Headers past this count are dropped by Node's parser rather than kept in memory. */
const MAX_HEADERS_COUNT = 100;

/** Applies the limits that are properties of a server rather than creation options. */
export function limitServer(server: ServerType): void {
  if ('maxHeadersCount' in server) server.maxHeadersCount = MAX_HEADERS_COUNT;
  // Also set as properties: they are what Node reads, whatever a custom createServer did with options.
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = ingestServerOptions.keepAliveTimeout;
  if ('headersTimeout' in server) server.headersTimeout = ingestServerOptions.headersTimeout;
  if ('requestTimeout' in server) server.requestTimeout = ingestServerOptions.requestTimeout;
}
