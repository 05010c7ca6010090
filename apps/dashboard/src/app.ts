import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type IpRanges, resolveClientAddress } from '@inlet/config';
import {
  countRecentEventsBySource,
  type EventSummary,
  getEventView,
  isConnectionError,
  pingDatabase,
  type Sql,
  searchEvents,
} from '@inlet/db';
import type { EventJob } from '@inlet/queue';
import { ReplayError, replayEvent } from '@inlet/replay';
import type { Queue } from 'bullmq';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { matchedRoutes } from 'hono/route';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type AuthenticatedUser, createAuthenticator, type DashboardUser, parseBasicAuth } from './auth.js';
import { createQueueBoard, QUEUES_PATH } from './bull-board.js';
import { DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE_SECONDS, DeviceCookies } from './device-cookie.js';
import { DashboardError, statusFor } from './errors.js';
import { fetchSignatureFailures } from './ingest-metrics.js';
import { LoginLimiter } from './login-limiter.js';
import { createDashboardMetrics, type DashboardMetrics } from './metrics.js';
import { ErrorPage } from './pages/error-page.js';
import { EventPage } from './pages/event-page.js';
import { HomePage, type QueueCounts } from './pages/home-page.js';
import { redactHeaders } from './redact-headers.js';
import { RetryActions } from './retry-actions.js';
import {
  DEFAULT_LIMIT,
  encodeCursor,
  parseSearchQuery,
  type SearchQuery,
  uuidSchema,
} from './search-params.js';

export interface DashboardDeps {
  readonly sql: Sql;
  readonly queue: Queue<EventJob>;
  /** The connection the queue uses; pinged by /readyz. */
  readonly redis: Redis;
  readonly logger: Logger;
  /** Who may sign in: at least the operator (`admin`), optionally a look-only user. */
  readonly users: readonly DashboardUser[];
  /** Prometheus metrics served at /metrics; created for the app when not given. */
  readonly metrics?: DashboardMetrics;
  /** Ingest's /metrics, read for signature failures; null (the default) shows them as unavailable. */
  readonly ingestMetricsUrl?: string | null;
  /** Failed sign-in throttling per address, user name and device (see LoginLimiter). */
  readonly loginLimiter?: LoginLimiter;
  /** Signs and checks the device cookies that let a known browser past the throttle. */
  readonly deviceCookies?: DeviceCookies;
  /** Failed jobs moved per batch by "retry all failed" (default 500). */
  readonly retryBatchSize?: number;
  /** Characters of an event's body and payload shown at most (default MAX_SHOWN_CHARS). */
  readonly maxShownChars?: number;
  /**
   * The client address a request came from; by default the socket's, or the X-Forwarded-For hop
   * added by one of `trustedProxies`.
   */
  readonly clientAddress?: (c: Context<DashboardAppEnv>) => string;
  /** Proxies whose X-Forwarded-For hop is believed (INLET_TRUSTED_PROXIES); nobody's when absent. */
  readonly trustedProxies?: IpRanges;
  /** The direct peer's address; the socket's by default (tests through `app.request()` have none). */
  readonly peerAddress?: (c: Context<DashboardAppEnv>) => string | undefined;
  readonly now?: () => Date;
}

export type DashboardAppEnv = {
  Bindings: HttpBindings;
  Variables: { requestId: string; user: AuthenticatedUser | null };
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REQUEST_ID = /^[\w.:-]{1,128}$/;
// Pages load nothing but themselves: no scripts at all, inline styles only, forms back to us.
const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
// A year; without includeSubDomains, since the dashboard speaks for its own host name only.
const HSTS_MAX_AGE_SECONDS = 31_536_000;
const READONLY_MESSAGE = 'This login may look at everything but change nothing.';
/**
 * Characters of an event's body and of its payload text read and shown at most, on its page and in
 * the API: a stored payload's text can be far longer than the body it came from.
 */
export const MAX_SHOWN_CHARS = 1_048_576;

function socketAddress(c: Context<DashboardAppEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    // app.request() in tests has no socket.
    return undefined;
  }
}

/** True when the request came over this process's own TLS (TLS_CERT_FILE/TLS_KEY_FILE). */
function servedOverTls(c: Context<DashboardAppEnv>): boolean {
  // app.request() in tests has no bindings at all.
  const socket = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket;
  return socket !== undefined && 'encrypted' in socket && socket.encrypted === true;
}

/** The route pattern that answered (bounded, unlike the path), or `unmatched`. */
function routeLabel(c: Context<DashboardAppEnv>): string {
  const routes = matchedRoutes(c).filter((route) => route.method !== 'ALL');
  return routes.at(-1)?.path ?? 'unmatched';
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Races `promise` against `ms`; a late answer counts as a failure. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function summaryJson(event: EventSummary) {
  return {
    id: event.id,
    source: event.source,
    eventId: event.event_id,
    eventType: event.event_type,
    receivedAt: event.received_at.toISOString(),
    processedAt: event.processed_at.toISOString(),
  };
}

/** The query string of a search page: the filters as typed, plus the limit and cursor when set. */
function searchHref(query: SearchQuery, cursor: string | null): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query.raw)) if (value !== '') params.set(name, value);
  if (query.limit !== DEFAULT_LIMIT) params.set('limit', String(query.limit));
  if (cursor !== null) params.set('cursor', cursor);
  const text = params.toString();
  return text === '' ? '/' : `/?${text}`;
}

export function createApp(deps: DashboardDeps): Hono<DashboardAppEnv> {
  const app = new Hono<DashboardAppEnv>();
  const clock = deps.now ?? (() => new Date());
  const metrics = deps.metrics ?? createDashboardMetrics();
  const authenticate = createAuthenticator(deps.users);
  const limiter = deps.loginLimiter ?? new LoginLimiter();
  const deviceCookies = deps.deviceCookies ?? new DeviceCookies(deps.users);
  const userNames = new Set(deps.users.map((user) => user.name));
  const peerAddress = deps.peerAddress ?? socketAddress;
  // Behind a proxy the socket is the proxy's: throttling by it would make every operator one client.
  const clientAddress =
    deps.clientAddress ??
    ((c: Context<DashboardAppEnv>) =>
      resolveClientAddress(peerAddress(c), () => c.req.header('x-forwarded-for'), deps.trustedProxies)
        ?.address ?? 'unknown');
  const maxShownChars = deps.maxShownChars ?? MAX_SHOWN_CHARS;
  const ingestMetricsUrl = deps.ingestMetricsUrl ?? null;
  const retries = new RetryActions(deps.queue, deps.logger, {
    ...(deps.retryBatchSize === undefined ? {} : { batchSize: deps.retryBatchSize }),
    now: clock,
  });

  const wantsHtml = (c: Context<DashboardAppEnv>) =>
    !c.req.path.startsWith('/api/') &&
    !c.req.path.startsWith(`${QUEUES_PATH}/api/`) &&
    (c.req.header('accept') ?? '').includes('text/html');

  const errorResponse = (c: Context<DashboardAppEnv>, error: DashboardError) => {
    if (error.retryAfterSeconds !== undefined) c.header('Retry-After', String(error.retryAfterSeconds));
    const status = statusFor(error.code);
    if (wantsHtml(c)) {
      c.header('Content-Security-Policy', PAGE_CSP);
      return c.html(ErrorPage({ user: c.var.user ?? null, status, message: error.message }), status);
    }
    return c.json({ error: { code: error.code, message: error.message } }, status);
  };

  const page = (c: Context<DashboardAppEnv>, body: JSX.Element, status: 200 | 400 = 200) => {
    c.header('Content-Security-Policy', PAGE_CSP);
    return c.html(body, status);
  };

  const signInRequired = (c: Context<DashboardAppEnv>) => {
    c.header('WWW-Authenticate', 'Basic realm="Inlet dashboard", charset="UTF-8"');
    return new DashboardError('unauthorized', 'Sign in with the dashboard user and password.');
  };

  const currentUser = (c: Context<DashboardAppEnv>): AuthenticatedUser => {
    const user = c.var.user;
    if (user === null)
      throw new DashboardError('unauthorized', 'Sign in with the dashboard user and password.');
    return user;
  };

  const requireAdmin: MiddlewareHandler<DashboardAppEnv> = async (c, next) => {
    if (currentUser(c).role !== 'admin') throw new DashboardError('forbidden', READONLY_MESSAGE);
    await next();
  };

  // Outermost: every request, answered or refused, gets a request id, one log line and a count.
  app.use(async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('user', null);
    await next();
    c.header('X-Request-Id', requestId);
    c.header('X-Content-Type-Options', 'nosniff');
    // Not no-referrer: with it, browsers send `Origin: null` on the dashboard's own form posts.
    c.header('Referrer-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
    // Only over HTTPS: browsers ignore it on plain HTTP, and sent there it would claim what is not so.
    if (servedOverTls(c)) c.header('Strict-Transport-Security', `max-age=${HSTS_MAX_AGE_SECONDS}`);
    // Event bodies and queue contents must not linger in shared caches; Bull Board's assets may.
    if (!c.req.path.startsWith(`${QUEUES_PATH}/static/`)) c.header('Cache-Control', 'no-store');
    const route = routeLabel(c);
    metrics.request(route, c.res.status);
    deps.logger.info(
      {
        requestId,
        method: c.req.method,
        route,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        user: c.var.user?.name,
      },
      'request',
    );
  });

  // Basic auth on every path, health and metrics included: the contract allows no exception.
  app.use(async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) throw signInRequired(c);
    const name = parseBasicAuth(header)?.name ?? null;
    const knownUser = name !== null && userNames.has(name);
    const device = knownUser ? deviceCookies.verify(getCookie(c, DEVICE_COOKIE), name) : null;
    const attempt = { address: clientAddress(c), user: name, knownUser, device: device?.id ?? null };
    // Checked before the password is: an attempt made too early is refused unread, so it learns nothing.
    const wait = limiter.retryAfterSeconds(attempt);
    if (wait > 0) {
      throw new DashboardError('rate_limited', 'Too many failed sign-ins; try again later.', wait);
    }
    const user = authenticate(header);
    if (user === null) {
      limiter.fail(attempt);
      throw signInRequired(c);
    }
    if (device === null || deviceCookies.dueForRenewal(device)) {
      setCookie(c, DEVICE_COOKIE, deviceCookies.issue(user.name), {
        path: '/',
        maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS,
        httpOnly: true,
        // Lax, not Strict: a link from elsewhere (an alert) must still bring the cookie along.
        sameSite: 'Lax',
        secure: servedOverTls(c) || c.req.header('x-forwarded-proto') === 'https',
      });
    }
    c.set('user', user);
    await next();
  });

  // Browsers send basic-auth credentials with cross-site requests too: only this dashboard's own
  // pages may change anything. Sec-Fetch-Site, which pages cannot forge, decides where a browser
  // sends it; older browsers are judged by Origin. Clients that are not browsers (curl) send neither.
  app.use(async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      const crossSite =
        site !== undefined
          ? site !== 'same-origin' && site !== 'none'
          : origin !== undefined && !sameHost(origin, c.req.header('host'));
      if (crossSite) {
        throw new DashboardError('forbidden', 'Changes are only accepted from the dashboard itself.');
      }
    }
    await next();
  });

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const [redis, database] = await Promise.all([
      within(deps.redis.ping(), 1000).then(
        (answer) => answer === 'PONG',
        () => false,
      ),
      within(
        pingDatabase(deps.sql).then(() => true),
        1000,
      ).catch(() => false),
    ]);
    const ready = redis && database;
    return c.json({ status: ready ? 'ready' : 'unavailable', redis, database }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
  );

  const readQueueCounts = async (): Promise<QueueCounts | null> => {
    try {
      const counts = await within(deps.queue.getJobCounts('waiting', 'active', 'delayed', 'failed'), 2000);
      return {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
      };
    } catch (error) {
      deps.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'queue counts unavailable',
      );
      return null;
    }
  };

  const parseRowId = (value: string | undefined): string => {
    const result = uuidSchema.safeParse(value);
    if (!result.success)
      throw new DashboardError('invalid_request', `id: ${result.error.issues[0]?.message}`);
    return result.data;
  };

  const replay = async (c: Context<DashboardAppEnv>, id: string) => {
    try {
      const replayed = await replayEvent({ sql: deps.sql, queue: deps.queue }, id);
      deps.logger.info(
        { requestId: c.var.requestId, user: currentUser(c).name, id, jobId: replayed.jobId },
        'replayed event',
      );
      return replayed;
    } catch (error) {
      if (error instanceof ReplayError && error.code === 'not_found') {
        throw new DashboardError('not_found', 'No stored event has this id.');
      }
      throw error;
    }
  };

  const startRetry = (c: Context<DashboardAppEnv>) => {
    const { action, started } = retries.start(currentUser(c).name);
    if (started)
      deps.logger.info({ requestId: c.var.requestId, user: action.user, action: action.id }, 'retry started');
    return action;
  };

  // The event browser.
  app.get('/', async (c) => {
    const now = clock();
    let query: SearchQuery | null = null;
    let error: string | null = null;
    try {
      query = parseSearchQuery(c.req.query());
    } catch (refused) {
      if (!(refused instanceof DashboardError)) throw refused;
      error = refused.message;
    }
    const [found, counts, signatureFailures, queue] = await Promise.all([
      query === null
        ? null
        : searchEvents(deps.sql, query.search, { limit: query.limit, after: query.after }),
      countRecentEventsBySource(deps.sql, now),
      fetchSignatureFailures(ingestMetricsUrl),
      readQueueCounts(),
    ]);
    const retryId = c.req.query('retry');
    const body = HomePage({
      user: currentUser(c),
      now,
      form: query?.raw ?? {
        source: c.req.query('source') ?? '',
        eventId: c.req.query('eventId') ?? '',
        eventType: c.req.query('eventType') ?? '',
        since: c.req.query('since') ?? '',
        until: c.req.query('until') ?? '',
      },
      events: found?.events ?? null,
      error,
      nextHref: query !== null && found?.next ? searchHref(query, encodeCursor(found.next)) : null,
      firstPageHref: query?.after === undefined ? null : searchHref(query, null),
      counts,
      signatureFailures,
      queue,
      retry: retryId === undefined ? null : (retries.get(retryId) ?? null),
    });
    return page(c, body, error === null ? 200 : 400);
  });

  app.get('/events/:id', async (c) => {
    const id = parseRowId(c.req.param('id'));
    const event = await getEventView(deps.sql, id, { maxChars: maxShownChars, payload: 'pretty' });
    if (event === null) throw new DashboardError('not_found', 'No stored event has this id.');
    const replayed = c.req.query('replayed');
    return page(
      c,
      EventPage({
        user: currentUser(c),
        now: clock(),
        event,
        headers: redactHeaders(event.headers),
        replayedJobId: replayed === undefined || replayed.length > 300 ? null : replayed,
      }),
    );
  });

  // The page's forms: act, then send the browser back to a page it can reload safely.
  app.post('/events/:id/replay', requireAdmin, async (c) => {
    const id = parseRowId(c.req.param('id'));
    const replayed = await replay(c, id);
    return c.redirect(`/events/${id}?replayed=${encodeURIComponent(replayed.jobId)}`, 303);
  });
  app.post('/failed/retry', requireAdmin, (c) => {
    const action = startRetry(c);
    return c.redirect(`/?retry=${action.id}`, 303);
  });

  // The JSON API.
  app.get('/api/events', async (c) => {
    const query = parseSearchQuery(c.req.query());
    const found = await searchEvents(deps.sql, query.search, { limit: query.limit, after: query.after });
    return c.json({
      events: found.events.map(summaryJson),
      nextCursor: found.next === null ? null : encodeCursor(found.next),
    });
  });

  app.get('/api/events/:id', async (c) => {
    const id = parseRowId(c.req.param('id'));
    const event = await getEventView(deps.sql, id, { maxChars: maxShownChars, payload: 'compact' });
    if (event === null) throw new DashboardError('not_found', 'No stored event has this id.');
    const payloadTruncated = event.payload?.truncated ?? false;
    return c.json({
      event: {
        id: event.id,
        source: event.source,
        eventId: event.event_id,
        eventType: event.event_type,
        headers: redactHeaders(event.headers),
        body: event.body.text,
        // A cut payload is no longer JSON: null, and flagged, rather than a broken prefix.
        payload:
          event.payload === null || payloadTruncated ? null : (JSON.parse(event.payload.text) as unknown),
        bodyTruncated: event.body.truncated,
        payloadTruncated,
        receivedAt: event.received_at.toISOString(),
        processedAt: event.processed_at.toISOString(),
      },
    });
  });

  app.post('/api/events/:id/replay', requireAdmin, async (c) => {
    const id = parseRowId(c.req.param('id'));
    const replayed = await replay(c, id);
    return c.json(
      { replayed: { id, source: replayed.source, eventId: replayed.eventId, jobId: replayed.jobId } },
      202,
    );
  });

  app.get('/api/stats', async (c) => {
    const [sources, signatureFailures, queue] = await Promise.all([
      countRecentEventsBySource(deps.sql, clock()),
      fetchSignatureFailures(ingestMetricsUrl),
      readQueueCounts(),
    ]);
    return c.json({ sources, signatureFailures, queue });
  });

  app.post('/api/failed/retry', requireAdmin, (c) => {
    const action = startRetry(c);
    c.header('Location', `/api/failed/retry/${action.id}`);
    return c.json({ action }, 202);
  });

  app.get('/api/failed/retry/:id', (c) => {
    const id = parseRowId(c.req.param('id'));
    const action = retries.get(id);
    if (action === undefined) throw new DashboardError('not_found', 'No retry with this id is known here.');
    return c.json({ action });
  });

  // Bull Board. A look-only user gets a board built read-only (no action buttons), and any request
  // of theirs that could change something is refused before it reaches either board.
  const readOnlyBoard = new Hono().route(QUEUES_PATH, createQueueBoard(deps.queue, { readOnly: true }));
  app.use(`${QUEUES_PATH}/*`, async (c, next) => {
    if (currentUser(c).role === 'admin') return next();
    if (!SAFE_METHODS.has(c.req.method)) throw new DashboardError('forbidden', READONLY_MESSAGE);
    return readOnlyBoard.fetch(c.req.raw);
  });
  app.route(QUEUES_PATH, createQueueBoard(deps.queue, { readOnly: false }));

  app.notFound((c) => errorResponse(c, new DashboardError('not_found', 'There is nothing at this path.')));

  app.onError((error, c) => {
    if (error instanceof DashboardError) return errorResponse(c, error);
    if (isConnectionError(error)) {
      deps.logger.warn({ requestId: c.var.requestId, err: error.message }, 'database unavailable');
      return errorResponse(
        c,
        new DashboardError('unavailable', 'The database cannot be reached now; try again shortly.', 5),
      );
    }
    deps.logger.error({ requestId: c.var.requestId, err: error }, 'unhandled error');
    return errorResponse(c, new DashboardError('internal_error', 'The request could not be completed.'));
  });

  return app;
}
