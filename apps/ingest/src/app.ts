import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import {
  clientKey,
  type IpAddress,
  type IpRanges,
  type RateLimit,
  resolveClientAddress,
  type Source,
  type Sources,
} from '@inlet/config';
import { type EventJob, type EventProducer, QueueUnavailableError } from '@inlet/queue';
import {
  type DeliveryRequest,
  type NonceStore,
  PayloadError,
  SignatureError,
  VerifierUnavailableError,
  type VerifyContext,
} from '@inlet/signatures';
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import type { Backlog } from './backlog-monitor.js';
import type { BodyBudget, BodyLease } from './body-budget.js';
import { IngestError, type IngestErrorCode, statusFor } from './errors.js';
import { contentKeyFor, deriveEventId } from './event-id.js';
import type { FailureLimiter } from './failure-limiter.js';
import { createIngestMetrics, type IngestMetrics } from './metrics.js';
import { atMostEvery, forLog } from './notice.js';
import type { RateDecision, SourceRateLimiter, WindowState } from './rate-limiter.js';
import { declaredLength, readBoundedBody } from './read-body.js';
import type { SlowBodyGuard } from './slow-body-guard.js';
import { storedHeaders, storedRawHeaders } from './stored-headers.js';

export interface IngestDeps {
  readonly sources: Sources;
  readonly producer: EventProducer;
  /** Where single-use token ids are remembered (Redis, so every ingest instance shares them). */
  readonly nonces: NonceStore;
  readonly logger: Logger;
  /** Prometheus metrics served at /metrics; created for the app when not given. */
  readonly metrics?: IngestMetrics;
  /** Clock in ms, injectable for tests. */
  readonly now?: () => number;
  /**
   * The direct peer's address; the socket's by default. Injectable so that tests through
   * `app.request()`, which has no socket, can say where a request comes from.
   */
  readonly peerAddress?: (c: Context) => string | undefined;
  /** Proxies whose X-Forwarded-For hop is believed (INLET_TRUSTED_PROXIES); nobody's when absent. */
  readonly trustedProxies?: IpRanges;
  /** Per-source rate limits shared through Redis; no limit when absent. */
  readonly rateLimiter?: SourceRateLimiter;
  /** The limit of sources without their own `rateLimit` (INLET_RATE_LIMIT). */
  readonly defaultRateLimit?: RateLimit;
  /** The queue's cached backlog: deliveries get 503 while it is full. */
  readonly backlog?: Backlog;
  /** Bytes of bodies held at once across requests (INLET_MAX_BODY_BYTES_IN_FLIGHT); unbounded when absent. */
  readonly bodyBudget?: BodyBudget;
  /** Cuts off bodies that arrive too slowly (INLET_BODY_TIMEOUT_MS, INLET_MIN_BODY_BYTES_PER_SECOND). */
  readonly slowBodyGuard?: SlowBodyGuard;
  /** Failed requests per client address and source (INLET_CLIENT_FAILURE_LIMIT); unlimited when absent. */
  readonly failureLimiter?: FailureLimiter;
  /** False when /metrics is served on a port of its own (INLET_METRICS_PORT): this app then answers 404. */
  readonly publicMetrics?: boolean;
}

type AppEnv = { Variables: { source: Source; requestId: string; client: IpAddress | undefined } };

/** Seconds a sender should wait before retrying when the queue cannot take events. */
const RETRY_AFTER_SECONDS = 5;
/** A backlog takes workers a while to drain: earlier retries would only add to the load. */
const BACKLOG_RETRY_AFTER_SECONDS = 30;
const DEFAULT_RATE_LIMIT: RateLimit = { points: 1000, durationSeconds: 1 };
const utf8 = new TextDecoder('utf-8', { fatal: true });
/** The failure limiter's name for every source that is not configured. */
const UNKNOWN_SOURCE = '\u0000unknown';
/** Refusals that a genuine sender does not cause: they count against the client's failure budget. */
const FAILURE_CODES: ReadonlySet<IngestErrorCode> = new Set<IngestErrorCode>([
  'missing_signature',
  'invalid_signature',
  'timestamp_out_of_tolerance',
  'invalid_token',
  'unknown_source',
  'invalid_payload',
  'request_timeout',
]);

function acceptedMediaType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return (
    type === '' ||
    type === 'application/json' ||
    (type.startsWith('application/') && type.endsWith('+json')) ||
    type === 'application/x-www-form-urlencoded' ||
    type.startsWith('text/')
  );
}

/** Node's request under @hono/node-server; none under `app.request()`. */
function incomingOf(c: Context): IncomingMessage | undefined {
  const env: unknown = c.env;
  if (typeof env !== 'object' || env === null || !('incoming' in env)) return undefined;
  return (env as Partial<HttpBindings>).incoming;
}

/** The socket's remote address under @hono/node-server; none under `app.request()`. */
function socketAddress(c: Context): string | undefined {
  return incomingOf(c)?.socket?.remoteAddress;
}

const NO_HEADERS: ReadonlySet<string> = new Set();

/**
 * The headers kept with an event. Under @hono/node-server they are taken from Node's raw header
 * list: going through the Request's Headers would build a whole Headers object per request.
 */
function headersToStore(c: Context, credentialHeaders: ReadonlySet<string>): Record<string, string> {
  const env: unknown = c.env;
  const incoming =
    typeof env === 'object' && env !== null && 'incoming' in env
      ? (env as Partial<HttpBindings>).incoming
      : undefined;
  return incoming?.rawHeaders
    ? storedRawHeaders(incoming.rawHeaders, credentialHeaders)
    : storedHeaders(c.req.raw.headers, credentialHeaders);
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** The path `POST /webhooks/:source` is routed on. */
const DELIVERY_PATH = /^\/webhooks\/([^/]+)$/;

/** The request's id: the caller's `X-Request-Id` when it is a sane token, else a fresh UUID. */
function requestIdOf(c: Context<AppEnv>): string {
  let requestId = c.get('requestId');
  if (requestId === undefined) {
    const incoming = c.req.header('x-request-id');
    requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
  }
  return requestId;
}

function credentialHeadersOf(source: Source): ReadonlySet<string> {
  const names = [...source.provider.credentialHeaders];
  // The generic scheme's signature header is named in the source's own settings.
  const configured = source.settings.header;
  if (typeof configured === 'string') names.push(configured);
  return new Set(names.map((name) => name.toLowerCase()));
}

function admit(decision: RateDecision): void {
  if (!decision.allowed) {
    throw new IngestError(
      'rate_limited',
      'This source has sent more deliveries than its rate limit allows; retry later.',
      decision.retryAfterSeconds,
    );
  }
}

/**
 * What a verifier gets when the source has a rate limit: the point is spent once, after the
 * signature verified, and before a single-use token id is claimed, so that a delivery refused for
 * its rate has not used up its token. A point spent for a token that then turns out to be used is
 * given back.
 */
class VerifyRun implements VerifyContext, NonceStore {
  private spentUntil: number | undefined;

  constructor(
    readonly sourceName: string,
    private readonly store: NonceStore,
    private readonly limiter: SourceRateLimiter,
    private readonly window: WindowState,
  ) {}

  get nonces(): NonceStore {
    return this;
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const spending = this.spend();
    if (spending) await spending;
    return this.store.claim(key, ttlSeconds);
  }

  /** Spends the point (once); throws `rate_limited` when the window has none left. */
  spend(): Promise<void> | undefined {
    if (this.spentUntil !== undefined) return undefined;
    const decision = this.limiter.spendFrom(this.window);
    if (decision instanceof Promise) return decision.then((settled) => this.spent(settled));
    this.spent(decision);
    return undefined;
  }

  refund(): void {
    if (this.spentUntil !== undefined) this.limiter.refund(this.window, this.spentUntil);
    this.spentUntil = undefined;
  }

  private spent(decision: RateDecision): void {
    admit(decision);
    this.spentUntil = this.window.endsAt;
  }
}

export function createApp(deps: IngestDeps): Hono<AppEnv> {
  const now = deps.now ?? Date.now;
  const peerAddress = deps.peerAddress ?? socketAddress;
  const defaultRateLimit = deps.defaultRateLimit ?? DEFAULT_RATE_LIMIT;
  const app = new Hono<AppEnv>();
  // A store that cannot answer (Redis away) must not turn into a 500: the sender should retry.
  const nonces: NonceStore = {
    claim: (key, ttlSeconds) =>
      deps.nonces.claim(key, ttlSeconds).catch((error: unknown) => {
        throw new VerifierUnavailableError(
          `Used token ids cannot be checked now: ${(error as Error).message}`,
        );
      }),
  };

  const credentials = new Map<string, ReadonlySet<string>>();
  for (const source of deps.sources.values()) credentials.set(source.name, credentialHeadersOf(source));
  const { rateLimiter, failureLimiter, slowBodyGuard } = deps;
  // Each source's window, looked up once here rather than by a built key per request.
  const rateWindows = new Map<string, WindowState>();
  if (rateLimiter) {
    for (const source of deps.sources.values()) {
      rateWindows.set(source.name, rateLimiter.window(source.name, source.rateLimit ?? defaultRateLimit));
    }
  }
  // Anyone can make up source names: their refusals are logged as a count, at most every 10 s.
  let unknownRefused = 0;
  const unknownNotice = atMostEvery(
    (name: string, client: string | undefined) => {
      deps.logger.info(
        { refused: unknownRefused, source: forLog(name), ...(client ? { client } : {}) },
        'refused deliveries to unknown sources',
      );
      unknownRefused = 0;
    },
    undefined,
    now,
  );

  const metrics = deps.metrics ?? createIngestMetrics({ sources: deps.sources.keys() });
  const { backlog } = deps;
  if (backlog) metrics.trackBacklog(() => backlog.depth);
  const { bodyBudget } = deps;
  if (bodyBudget) metrics.trackBodiesInFlight(() => bodyBudget.heldBytes);
  // Deliveries and error bodies name themselves (see the webhook route); so do these.
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    app.use(path, async (c, next) => {
      await next();
      c.header('X-Request-Id', requestIdOf(c));
    });
  }

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  if (deps.publicMetrics !== false) {
    app.get('/metrics', async (c) =>
      c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
    );
  }
  app.get('/readyz', async (c) => {
    const redis = await deps.producer.ping();
    return c.json({ status: redis ? 'ready' : 'unavailable', redis }, redis ? 200 : 503);
  });

  // One handler for a delivery, with no middleware in front of it: Hono then calls it directly,
  // and each step of a middleware chain would cost a closure and a promise per request. It names
  // the request, counts the answer and turns refusals into error bodies itself.
  app.post('/webhooks/:source', async (c) => {
    const requestId = requestIdOf(c);
    const name = c.req.param('source');
    let response: Response;
    try {
      response = await deliver(c, name, requestId);
    } catch (error) {
      response = refusal(c, error);
    }
    metrics.request(name, response.status);
    return response;
  });

  async function deliver(c: Context<AppEnv>, name: string, requestId: string): Promise<Response> {
    const source = deps.sources.get(name);
    const client =
      source?.allowedIps || failureLimiter || bodyBudget
        ? resolveClientAddress(peerAddress(c), () => c.req.header('x-forwarded-for'), deps.trustedProxies)
        : undefined;
    const key = client === undefined ? undefined : clientKey(client);
    const failureKey = source ? source.name : UNKNOWN_SOURCE;
    if (failureLimiter && key !== undefined) {
      const wait = failureLimiter.retryAfter(failureKey, key);
      if (wait > 0) {
        c.set('client', client);
        throw new IngestError(
          'rate_limited',
          'Too many failed requests from this address; retry later.',
          wait,
        );
      }
    }
    if (!source) {
      if (failureLimiter && key !== undefined) failureLimiter.failed(UNKNOWN_SOURCE, key);
      unknownRefused += 1;
      unknownNotice(
        name,
        (
          client ??
          resolveClientAddress(peerAddress(c), () => c.req.header('x-forwarded-for'), deps.trustedProxies)
        )?.address,
      );
      throw new IngestError('unknown_source', 'No source with this name is configured.');
    }
    if (source.allowedIps && !source.allowedIps.contains(client)) {
      c.set('client', client);
      throw new IngestError('ip_not_allowed', 'This source does not accept deliveries from this address.');
    }
    if (!acceptedMediaType(c.req.header('content-type'))) {
      throw new IngestError('unsupported_media_type', 'Send the body as JSON, form fields or text.');
    }
    // Before the body is read: a refused delivery costs no more than its headers.
    if (backlog?.full) {
      throw new IngestError(
        'unavailable',
        'The queue is holding as many events as it may; retry later.',
        BACKLOG_RETRY_AFTER_SECONDS,
      );
    }
    // Refused here, before the body is read, only while the window is known to be spent: the
    // point itself is spent once the delivery verifies (see VerifyRun).
    const window = rateWindows.get(source.name);
    if (rateLimiter && window) admit(rateLimiter.check(window));
    if (!failureLimiter || key === undefined) return accept(c, source, requestId, key, window);
    try {
      return await accept(c, source, requestId, key, window);
    } catch (error) {
      if (error instanceof IngestError && FAILURE_CODES.has(error.code)) {
        failureLimiter.failed(source.name, key);
        c.set('client', client);
      }
      throw error;
    }
  }

  async function accept(
    c: Context<AppEnv>,
    source: Source,
    requestId: string,
    client: string | undefined,
    window: WindowState | undefined,
  ): Promise<Response> {
    const declared = declaredLength(c.req.header('content-length'));
    if (!bodyBudget) return acceptHeld(c, source, requestId, window, declared);
    // The body's bytes count against the budget, as they arrive, until the delivery is answered.
    const lease = bodyBudget.lease(client, declared);
    try {
      return await acceptHeld(c, source, requestId, window, declared, lease);
    } finally {
      lease.release();
    }
  }

  async function acceptHeld(
    c: Context<AppEnv>,
    source: Source,
    requestId: string,
    window: WindowState | undefined,
    declared: number | undefined,
    lease?: BodyLease,
  ): Promise<Response> {
    const started = performance.now();
    const rawBody = await readBoundedBody(
      c.req,
      incomingOf(c),
      source.maxBodyBytes,
      declared,
      lease,
      slowBodyGuard,
    );
    let text: string;
    try {
      text = utf8.decode(rawBody);
    } catch {
      throw new IngestError('invalid_payload', 'The body is not valid UTF-8 text.');
    }
    if (text.includes('\u0000'))
      throw new IngestError('invalid_payload', 'The body contains a NUL character.');

    const request: DeliveryRequest = { rawBody, text, header: (name) => c.req.header(name), now: now() };
    // The source's rate limit is spent once the delivery verifies: forgeries never cost a source
    // its deliveries (they count against their sender's failures instead).
    const run = rateLimiter && window ? new VerifyRun(source.name, nonces, rateLimiter, window) : undefined;
    let verified: Awaited<ReturnType<Source['provider']['verify']>>;
    try {
      const verifying = source.provider.verify(
        request,
        source.settings,
        run ?? { sourceName: source.name, nonces },
      );
      // Most schemes answer synchronously: awaiting a plain value would still cost a turn.
      verified = verifying instanceof Promise ? await verifying : verifying;
    } catch (error) {
      run?.refund();
      if (error instanceof SignatureError) {
        metrics.signatureFailure(source.name, error.code);
        throw new IngestError(error.code, error.message);
      }
      if (error instanceof PayloadError) throw new IngestError(error.code, error.message);
      if (error instanceof VerifierUnavailableError) {
        deps.logger.warn({ requestId, source: source.name, err: error.message }, 'cannot verify now');
        throw new IngestError('unavailable', error.message, RETRY_AFTER_SECONDS);
      }
      throw error;
    }
    if (run) {
      const spending = run.spend();
      if (spending) await spending;
    }
    if (verified.handshake) {
      const { body, contentType, status } = verified.handshake;
      return c.body(body, status, { 'Content-Type': contentType, 'X-Request-Id': requestId });
    }

    const eventId = deriveEventId(request, verified.eventId, source.idempotency);
    const enqueueStarted = performance.now();
    try {
      const job: EventJob = {
        source: source.name,
        eventId,
        eventType: verified.eventType ?? null,
        headers: headersToStore(c, credentials.get(source.name) ?? NO_HEADERS),
        body: text,
        receivedAt: request.now,
      };
      if (verified.eventType === undefined && verified.eventTypeField) {
        job.eventTypeField = verified.eventTypeField;
      }
      const contentSha256 = source.dedupeByContent
        ? contentKeyFor(source.provider, source.settings, request, source.idempotency)
        : undefined;
      if (contentSha256 !== undefined) job.contentSha256 = contentSha256;
      await deps.producer.enqueue(job);
    } catch (error) {
      if (error instanceof QueueUnavailableError) {
        deps.logger.warn({ requestId, source: source.name, err: error.message }, 'enqueue failed');
        throw new IngestError(
          'unavailable',
          'The queue cannot take events right now; retry later.',
          RETRY_AFTER_SECONDS,
        );
      }
      throw error;
    }
    const done = performance.now();
    metrics.enqueued((done - enqueueStarted) / 1000);
    deps.logger.info(
      { requestId, source: source.name, eventId, status: 202, ms: done - started },
      'accepted',
    );
    // Plain headers and a string body: @hono/node-server writes these without building Headers.
    return new Response(JSON.stringify({ id: eventId }), {
      status: 202,
      headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId },
    });
  }

  const errorResponse = (c: Context<AppEnv>, error: IngestError) => {
    const headers: Record<string, string> = { 'X-Request-Id': requestIdOf(c) };
    if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
    return c.json({ error: { code: error.code, message: error.message } }, statusFor(error.code), headers);
  };

  /** The error body for anything thrown while handling a request, logged by what it was. */
  function refusal(c: Context<AppEnv>, error: unknown): Response {
    if (!(error instanceof IngestError)) {
      deps.logger.error({ requestId: requestIdOf(c), err: error }, 'unhandled error');
      return errorResponse(c, new IngestError('internal_error', 'The delivery could not be processed.'));
    }
    if (error.code !== 'unavailable') {
      const client = c.get('client');
      const fields = {
        requestId: requestIdOf(c),
        source: forLog(c.req.param('source') ?? ''),
        code: error.code,
        status: statusFor(error.code),
        ...(client ? { client: client.address } : {}),
      };
      // A flood is thousands of these a second: /metrics counts them, a log line each would cost
      // more than refusing them.
      // Unknown sources are logged as a count (see unknownNotice).
      if (error.code === 'rate_limited' || error.code === 'unknown_source')
        deps.logger.debug(fields, 'refused');
      else deps.logger.info(fields, 'refused');
    }
    return errorResponse(c, error);
  }

  // Only POST is routed on a delivery path, so that its handler runs with nothing in front of it:
  // the other methods arrive here.
  app.notFound((c) => {
    const delivery = DELIVERY_PATH.exec(c.req.path);
    if (!delivery) return errorResponse(c, new IngestError('not_found', 'There is nothing at this path.'));
    c.header('Allow', 'POST');
    const response = refusal(c, new IngestError('method_not_allowed', 'Deliveries must be sent with POST.'));
    metrics.request(delivery[1], response.status);
    return response;
  });
  app.onError((error, c) => refusal(c, error));

  return app;
}
