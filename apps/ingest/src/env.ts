import { isIP } from 'node:net';
import {
  booleanFromEnv,
  ConfigError,
  commonEnv,
  ipRangeListFromEnv,
  parseEnv,
  portSchema,
  rateLimitFromEnv,
  redisTlsFromEnv,
  serverTlsEnv,
  serverTlsFromEnv,
} from '@inlet/config';
import { z } from 'zod';

export const ingestEnvShape = {
  ...commonEnv,
  ...serverTlsEnv,
  PORT: portSchema.default(8080),
  INLET_SOURCES: z.string().min(1).default('./inlet.sources.json'),
  /** Every source's rate limit unless it sets its own `rateLimit`. */
  INLET_RATE_LIMIT: rateLimitFromEnv.default({ points: 1000, durationSeconds: 1 }),
  /** Jobs waiting in the queue at which ingest stops accepting (503) until workers catch up. */
  INLET_MAX_BACKLOG: z.coerce
    .number({ message: 'must be a whole number of jobs' })
    .int('must be a whole number of jobs')
    .min(1, 'must be at least 1')
    .default(1_000_000),
  /**
   * Bytes of request bodies held at once across all requests; a delivery whose body would go past
   * it gets 503 before its body is read. Bounds memory against many large or trickled bodies.
   */
  INLET_MAX_BODY_BYTES_IN_FLIGHT: z.coerce
    .number({ message: 'must be a whole number of bytes' })
    .int('must be a whole number of bytes')
    .min(1024, 'must be at least 1024')
    .default(16 * 1024 * 1024),
  /**
   * Connections open at once; further ones are closed as they arrive. Each may hold up to 16 KiB of
   * headers while they trickle in, so this bounds what a flood of slow connections can cost.
   */
  INLET_MAX_CONNECTIONS: z.coerce
    .number({ message: 'must be a whole number of connections' })
    .int('must be a whole number of connections')
    .min(1, 'must be at least 1')
    .default(4096),
  /**
   * Bytes of request bodies one client address (IPv6: its /64) may hold at once, so that one
   * sender cannot take the whole of INLET_MAX_BODY_BYTES_IN_FLIGHT.
   */
  INLET_MAX_BODY_BYTES_PER_CLIENT: z.coerce
    .number({ message: 'must be a whole number of bytes' })
    .int('must be a whole number of bytes')
    .min(1024, 'must be at least 1024')
    .default(4 * 1024 * 1024),
  /** A body must arrive whole within this long of ingest starting to read it (408 otherwise). */
  INLET_BODY_TIMEOUT_MS: z.coerce
    .number({ message: 'must be a whole number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(1000, 'must be at least 1000')
    .max(300_000, 'must be at most 300000')
    .default(10_000),
  /** Each 2 s of a body must bring at least this many bytes a second, or its end; 0 turns the check off. */
  INLET_MIN_BODY_BYTES_PER_SECOND: z.coerce
    .number({ message: 'must be a whole number of bytes a second' })
    .int('must be a whole number of bytes a second')
    .min(0, 'must be 0 or more')
    .default(4096),
  /**
   * Failed requests (bad signature, unknown source, unreadable body) one client address may make
   * to one source per window before it gets 429; counted per instance.
   */
  INLET_CLIENT_FAILURE_LIMIT: rateLimitFromEnv.default({ points: 60, durationSeconds: 60 }),
  /** Serve /metrics on this port instead of the public one (which then answers 404). */
  INLET_METRICS_PORT: portSchema.optional(),
  /** The address the metrics port listens on; every interface when unset. */
  INLET_METRICS_HOST: z
    .string()
    .refine((value) => isIP(value) !== 0, { message: 'must be an IP address such as 127.0.0.1 or ::' })
    .optional(),
  /** Proxies whose X-Forwarded-For is believed; nobody's by default. */
  INLET_TRUSTED_PROXIES: ipRangeListFromEnv.default([]),
  /** Redis replicas that must hold an event before it is acknowledged (Redis WAIT); 0 waits for none. */
  INLET_ACK_REPLICAS: z.coerce
    .number({ message: 'must be a whole number of replicas' })
    .int('must be a whole number of replicas')
    .min(0, 'must be 0 or more')
    .default(0),
  /** How long to wait for those replicas before answering 503. */
  INLET_ACK_TIMEOUT_MS: z.coerce
    .number({ message: 'must be a whole number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(1, 'must be at least 1')
    .default(1000),
  /** Refuse to start when the sources file holds a literal secret instead of an env: reference. */
  INLET_REQUIRE_ENV_SECRETS: booleanFromEnv.default(false),
};

export type IngestEnv = ReturnType<typeof parseIngestEnv>;

/** The settings, with the certificate, key and CA files read (once, here). */
export function parseIngestEnv(env: Readonly<Record<string, string | undefined>> = process.env) {
  const parsed = parseEnv(ingestEnvShape, env);
  if (parsed.INLET_METRICS_PORT !== undefined && parsed.INLET_METRICS_PORT === parsed.PORT) {
    throw new ConfigError('INLET_METRICS_PORT', 'must differ from PORT');
  }
  return { ...parsed, redisTls: redisTlsFromEnv(parsed), serverTls: serverTlsFromEnv(parsed) };
}
