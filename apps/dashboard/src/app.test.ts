import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { IpRanges } from '@inlet/config';
import { createSql, insertEvents, type NewEvent, payloadJsonFor } from '@inlet/db';
import { createEventQueue, createRedis, type EventJob } from '@inlet/queue';
import {
  createTestCertificates,
  createTestDatabase,
  opensslAvailable,
  type TestDatabase,
  testRedisUrl,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import { type Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type DashboardDeps, MAX_SHOWN_CHARS } from './app.js';
import type { DashboardUser } from './auth.js';
import { LoginLimiter } from './login-limiter.js';
import { createDashboardMetrics } from './metrics.js';

const ADMIN: DashboardUser = { name: 'admin', password: 'pa55-admin-7c1e0f', role: 'admin' };
const VIEWER: DashboardUser = { name: 'viewer', password: 'pa55-viewer-94ab2d', role: 'readonly' };
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
const connection = createRedis(testRedisUrl(), 'producer');
const workerConnection = createRedis(testRedisUrl(), 'worker');
const queues: Queue<EventJob>[] = [];
const cleanups: Array<() => Promise<void>> = [];
let database: TestDatabase;

function basic(user: { name: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}`;
}

async function freshQueue() {
  const names = uniqueQueue();
  const queue = createEventQueue(connection, names);
  queues.push(queue);
  await queue.waitUntilReady();
  return { queue, names };
}

/** An app on the test database and a queue of its own; a request's client is its `x-test-client`. */
async function makeApp(overrides: Partial<DashboardDeps> = {}, options: { socketClient?: boolean } = {}) {
  const { queue, names } = await freshQueue();
  const testClient: Pick<DashboardDeps, 'clientAddress'> = options.socketClient
    ? {}
    : { clientAddress: (c) => c.req.header('x-test-client') ?? 'test' };
  const app = createApp({
    sql: database.sql,
    queue,
    redis: connection,
    logger,
    users: [ADMIN, VIEWER],
    metrics: createDashboardMetrics({ defaultMetrics: false }),
    ...testClient,
    ...overrides,
  });
  type Init = { method?: string; user?: DashboardUser; headers?: Record<string, string>; body?: string };
  const request = (path: string, init: Init = {}) =>
    app.request(path, {
      method: init.method ?? 'GET',
      headers: { ...(init.user ? { authorization: basic(init.user) } : {}), ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
  return { app, queue, names, request };
}

let seq = 0;
function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  seq += 1;
  const body = overrides.body ?? `{"id":"evt_${seq}","n":${seq}}`;
  return {
    source: 'stripe',
    eventId: `evt_${seq}`,
    eventType: 'invoice.paid',
    headers: { 'content-type': 'application/json' },
    body,
    payloadJson: payloadJsonFor(body, 'application/json'),
    receivedAt: new Date(),
    ...overrides,
  };
}

async function insert(events: NewEvent[]): Promise<string[]> {
  const results = await insertEvents(database.sql, events);
  return results.map((result) => {
    if (result.id === null) throw new Error('an event was not inserted');
    return result.id;
  });
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  for (const queue of queues) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
  connection.disconnect();
  workerConnection.disconnect();
  await database?.drop();
});

describe('basic auth', () => {
  it('answers 401 with a Basic challenge on every route without credentials, and does nothing', async () => {
    const { app, names, queue, request } = await makeApp();
    await queue.add('stripe', {
      source: 'stripe',
      eventId: 'x',
      eventType: null,
      headers: {},
      body: '',
      receivedAt: 1,
    });
    const [eventRowId] = await insert([newEvent()]);
    const values: Record<string, string> = {
      id: eventRowId ?? MISSING_ID,
      queueName: names.name,
      jobId: 'stripe',
      queueStatus: 'waiting',
      schedulerId: 'scheduler',
    };
    // Every route the app registers, so a route added later cannot escape the check.
    const routes = app.routes.filter((route) => route.method !== 'ALL');
    const paths = routes.map((route) => `${route.method} ${route.path}`);
    for (const expected of [
      'GET /',
      'GET /events/:id',
      'POST /events/:id/replay',
      'POST /failed/retry',
      'GET /api/events',
      'GET /api/events/:id',
      'POST /api/events/:id/replay',
      'GET /api/stats',
      'POST /api/failed/retry',
      'GET /api/failed/retry/:id',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /queues',
      'GET /queues/static/*',
      'GET /queues/api/queues',
      'PUT /queues/api/queues/:queueName/pause',
      'PUT /queues/api/queues/:queueName/clean/:queueStatus',
    ]) {
      expect(paths).toContain(expected);
    }
    const targets = [
      ...routes.map((route) => ({
        method: route.method,
        path: route.path
          .replace(/:(\w+)/g, (_, name: string) => values[name] ?? name)
          .replace('*', 'favicon-32x32.png'),
      })),
      { method: 'GET', path: '/no/such/page' },
      { method: 'DELETE', path: '/api/events' },
    ];
    for (const { method, path } of targets) {
      const response = await request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate'), `${method} ${path}`).toMatch(/^Basic realm="/);
      expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect(await queue.isPaused()).toBe(false);
    expect(await queue.getWaitingCount()).toBe(1);
  });

  it('refuses a wrong password, an unknown user, a malformed header and one user with the other password', async () => {
    const { request } = await makeApp();
    // One address per attempt: these are about what counts as wrong, not about throttling.
    let attempt = 0;
    const client = () => ({ 'x-test-client': `wrong-credentials-${attempt++}` });
    for (const authorization of [
      basic({ name: ADMIN.name, password: 'wrong' }),
      basic({ name: 'root', password: ADMIN.password }),
      basic({ name: ADMIN.name, password: VIEWER.password }),
      basic({ name: ADMIN.name, password: `${ADMIN.password} ` }),
      'Basic not*base64',
      `Bearer ${ADMIN.password}`,
      `Basic ${Buffer.from(ADMIN.password).toString('base64')}`,
    ]) {
      const response = await request('/api/events', { headers: { ...client(), authorization } });
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
    expect((await request('/api/events', { user: ADMIN, headers: client() })).status).toBe(200);
    expect((await request('/api/events', { user: VIEWER, headers: client() })).status).toBe(200);
  });

  /** The app behind a real server: every request comes from 127.0.0.1, as through a proxy. */
  async function listen(app: Awaited<ReturnType<typeof makeApp>>['app']) {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    return (user: { name: string; password: string }, cookie?: string) =>
      fetch(`http://127.0.0.1:${port}/api/events?limit=1`, {
        headers: { authorization: basic(user), ...(cookie === undefined ? {} : { cookie }) },
      });
  }

  /** The `name=value` of the device cookie an answer sets. */
  function deviceCookie(response: Response): string {
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('inlet_device='));
    if (cookie === undefined) throw new Error('no device cookie was set');
    return cookie.split(';')[0] ?? '';
  }

  it('survives the lockout attack: guesses through the shared proxy address do not stop a signed-in operator', async () => {
    const { app } = await makeApp({}, { socketClient: true });
    const get = await listen(app);
    // The operator and the look-only user signed in before the attack: their browsers hold device cookies.
    const adminCookie = deviceCookie(await get(ADMIN));
    const viewerCookie = deviceCookie(await get(VIEWER));

    const statuses: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      statuses.push((await get({ name: ADMIN.name, password: `guess-${i}` })).status);
      statuses.push((await get({ name: VIEWER.name, password: `guess-${i}` })).status);
    }
    expect(statuses.slice(0, 5).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(-20).every((status) => status === 429)).toBe(true);
    expect(statuses).not.toContain(200);
    const refused = await get({ name: ADMIN.name, password: 'guess-again' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // Without a device cookie even the right password waits: it is not checked, so guessing on learns nothing.
    expect((await get(ADMIN)).status).toBe(429);
    expect((await get(VIEWER)).status).toBe(429);
    // With one, both logins keep working, and only with their own password and cookie.
    expect((await get(ADMIN, adminCookie)).status).toBe(200);
    expect((await get(VIEWER, viewerCookie)).status).toBe(200);
    expect((await get(ADMIN, viewerCookie)).status).toBe(429);
    expect((await get(ADMIN, 'inlet_device=v1.forged')).status).toBe(429);
    expect((await get({ name: ADMIN.name, password: 'guess-with-cookie' }, adminCookie)).status).toBe(401);
  });

  it('sets the device cookie HttpOnly, SameSite=Lax, for a year, and Secure behind an HTTPS proxy', async () => {
    const { request } = await makeApp();
    const plain = await request('/healthz', { user: ADMIN });
    const attributes = plain.headers.get('set-cookie') ?? '';
    expect(attributes).toMatch(/^inlet_device=v1\./);
    expect(attributes).toContain('Max-Age=31536000');
    expect(attributes).toContain('Path=/');
    expect(attributes).toContain('HttpOnly');
    expect(attributes).toContain('SameSite=Lax');
    expect(attributes).not.toContain('Secure');
    const proxied = await request('/healthz', { user: ADMIN, headers: { 'x-forwarded-proto': 'https' } });
    expect(proxied.headers.get('set-cookie')).toContain('Secure');
    // A browser that holds a fresh cookie is not sent another one with every answer.
    const again = await request('/healthz', {
      user: ADMIN,
      headers: { cookie: attributes.split(';')[0] ?? '' },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('set-cookie')).toBeNull();
  });

  it('throttles guesses at one user name spread over many addresses', async () => {
    const { request } = await makeApp();
    const guess = (client: string, name = ADMIN.name) =>
      request('/healthz', {
        headers: {
          'x-test-client': client,
          authorization: basic({ name, password: `guess-from-${client}` }),
        },
      });
    for (let i = 1; i <= 6; i += 1) expect((await guess(`198.51.100.${i}`)).status).toBe(401);
    const refused = await guess('203.0.113.50');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    // The look-only user name is counted apart, and so is each address.
    expect((await guess('203.0.113.51', VIEWER.name)).status).toBe(401);
    expect(
      (await request('/healthz', { user: VIEWER, headers: { 'x-test-client': '198.51.100.1' } })).status,
    ).toBe(200);
  });

  it('throttles the client behind a trusted proxy, not the proxy, and ignores X-Forwarded-For from anyone else', async () => {
    let peer = '10.0.0.1';
    const { request } = await makeApp(
      { trustedProxies: IpRanges.parse(['10.0.0.0/8']), peerAddress: () => peer },
      { socketClient: true },
    );
    const attempt = (forwardedFor: string, user: DashboardUser) =>
      request('/healthz', { user, headers: { 'x-forwarded-for': forwardedFor } });
    let names = 0;
    const guess = (forwardedFor: string) => attempt(forwardedFor, { ...ADMIN, name: `made-up-${names++}` });
    // Guesses at made-up names through the proxy put the guesser's address in backoff ...
    for (let i = 0; i < 6; i += 1) expect((await guess('203.0.113.5')).status).toBe(401);
    expect((await guess('203.0.113.5')).status).toBe(429);
    // ... and only it: an operator elsewhere behind the same proxy signs in.
    expect((await attempt('198.51.100.7', ADMIN)).status).toBe(200);
    expect((await attempt('203.0.113.5', ADMIN)).status).toBe(429);
    // A peer that is not a trusted proxy is counted by its own address, whatever it forwards.
    peer = '192.0.2.9';
    for (let i = 0; i < 6; i += 1) expect((await guess(`198.51.100.${20 + i}`)).status).toBe(401);
    expect((await guess('198.51.100.99')).status).toBe(429);
  });

  it('throttles an IPv6 client by its /64, whatever user names it tries', async () => {
    const { request } = await makeApp();
    let names = 0;
    const guess = (client: string) =>
      request('/healthz', {
        headers: {
          'x-test-client': client,
          authorization: basic({ name: `made-up-${names++}`, password: 'guess' }),
        },
      });
    for (let i = 1; i <= 6; i += 1) expect((await guess(`2001:db8:7:7::${i}`)).status).toBe(401);
    expect((await guess('2001:db8:7:7:ffff::99')).status).toBe(429);
    expect((await guess('2001:db8:7:8::1')).status).toBe(401);
  });

  it('makes each attempt past the free ones wait longer, and says how long in Retry-After', async () => {
    const clock = { now: Date.now() };
    const { request } = await makeApp({ loginLimiter: new LoginLimiter({ now: () => clock.now }) });
    const wrong = () =>
      request('/healthz', {
        headers: { 'x-test-client': '192.0.2.44', authorization: basic({ name: 'admin', password: 'nope' }) },
      });
    for (let i = 0; i < 6; i += 1) expect((await wrong()).status).toBe(401);
    const waits: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const refused = await wrong();
      expect(refused.status).toBe(429);
      const wait = Number(refused.headers.get('retry-after'));
      waits.push(wait);
      clock.now += wait * 1000;
      expect((await wrong()).status).toBe(401);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16]);
    // An hour after the last failure the slate is clean, for the right password too.
    clock.now += 3_600_000 + 32_000;
    expect(
      (await request('/healthz', { user: ADMIN, headers: { 'x-test-client': '192.0.2.44' } })).status,
    ).toBe(200);
  });

  it('keeps each address to its own count', async () => {
    const { request } = await makeApp({ loginLimiter: new LoginLimiter({ freeFailures: 2 }) });
    const wrong = (client: string) =>
      request('/healthz', {
        headers: { 'x-test-client': client, authorization: basic({ name: 'nobody', password: 'nope' }) },
      });
    expect((await wrong('10.0.0.1')).status).toBe(401);
    expect((await wrong('10.0.0.1')).status).toBe(401);
    expect((await wrong('10.0.0.1')).status).toBe(401);
    expect((await wrong('10.0.0.1')).status).toBe(429);
    expect(
      (await request('/healthz', { user: ADMIN, headers: { 'x-test-client': '10.0.0.2' } })).status,
    ).toBe(200);
  });
});

describe('the read-only user', () => {
  it('may look, but gets 403 on replay, retry and every Bull Board action, and nothing changes', async () => {
    const { queue, names, request } = await makeApp();
    const [id = MISSING_ID] = await insert([newEvent()]);
    await queue.add('stripe', {
      source: 'stripe',
      eventId: 'kept',
      eventType: null,
      headers: {},
      body: '',
      receivedAt: 1,
    });
    const job = `/queues/api/queues/${names.name}`;
    for (const [method, path] of [
      ['POST', `/api/events/${id}/replay`],
      ['POST', `/events/${id}/replay`],
      ['POST', '/api/failed/retry'],
      ['POST', '/failed/retry'],
      ['PUT', `${job}/pause`],
      ['PUT', '/queues/api/queues/pause'],
      ['PUT', `${job}/retry/failed`],
      ['PUT', `${job}/clean/waiting`],
      ['PUT', `${job}/empty`],
      ['PUT', `${job}/obliterate`],
      ['POST', `${job}/add`],
      ['PUT', `${job}/stripe/retry`],
      ['PUT', `${job}/stripe/clean`],
      ['PATCH', `${job}/stripe/update-data`],
    ] as const) {
      const response = await request(path, {
        method,
        user: VIEWER,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(await response.json()).toMatchObject({ error: { code: 'forbidden' } });
    }
    expect(await queue.isPaused()).toBe(false);
    expect(await queue.getWaitingCount()).toBe(1);

    const board = await request(`/queues/api/queues?activeQueue=${names.name}`, { user: VIEWER });
    expect(board.status).toBe(200);
    const listed = (await board.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(listed.queues).toEqual([expect.objectContaining({ name: names.name, readOnlyMode: true })]);
    const eventPage = await request(`/events/${id}`, { user: VIEWER });
    expect(eventPage.status).toBe(200);
    const html = await eventPage.text();
    expect(html).toContain('read-only');
    expect(html).not.toContain('/replay"');
  });

  it('is not what the operator gets: the operator’s board can act', async () => {
    const { queue, names, request } = await makeApp();
    const board = await request(`/queues/api/queues?activeQueue=${names.name}`, { user: ADMIN });
    const listed = (await board.json()) as { queues: Array<{ readOnlyMode: boolean }> };
    expect(listed.queues[0]?.readOnlyMode).toBe(false);
    const paused = await request(`/queues/api/queues/${names.name}/pause`, { method: 'PUT', user: ADMIN });
    expect(paused.status).toBeLessThan(300);
    expect(await queue.isPaused()).toBe(true);
    await request(`/queues/api/queues/${names.name}/resume`, { method: 'PUT', user: ADMIN });
    expect(await queue.isPaused()).toBe(false);
    const page = await request('/queues', { user: ADMIN });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Inlet queues');
  });

  it('refuses a change sent from another site, whoever signs in', async () => {
    const { queue, request } = await makeApp();
    const [id = MISSING_ID] = await insert([newEvent()]);
    for (const headers of [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      // A browser's word on where the request comes from outweighs an Origin header that looks right.
      { 'sec-fetch-site': 'same-site', origin: 'http://localhost', host: 'localhost' },
    ]) {
      const response = await request(`/events/${id}/replay`, { method: 'POST', user: ADMIN, headers });
      expect(response.status).toBe(403);
    }
    expect(await queue.count()).toBe(0);
    const sameSite = await request(`/events/${id}/replay`, {
      method: 'POST',
      user: ADMIN,
      // What Chromium sends from a page whose Referrer-Policy hides the origin.
      headers: { origin: 'null', 'sec-fetch-site': 'same-origin' },
    });
    expect(sameSite.status).toBe(303);
    const olderBrowser = await request(`/events/${id}/replay`, {
      method: 'POST',
      user: ADMIN,
      headers: { origin: 'http://localhost:8081', host: 'localhost:8081' },
    });
    expect(olderBrowser.status).toBe(303);
  });
});

describe('searching stored events', () => {
  // A time window of their own, so rows other tests insert never show up here.
  const windowStart = new Date('2021-03-01T00:00:00.000Z');
  const windowEnd = new Date('2021-03-02T00:00:00.000Z');
  const rows: Array<{ id: string; source: string; eventId: string; eventType: string | null; at: number }> =
    [];

  beforeAll(async () => {
    const events: NewEvent[] = [];
    for (let i = 0; i < 320; i += 1) {
      const source = ['alpha', 'beta', 'gamma'][i % 3] ?? 'alpha';
      const eventType = i % 5 === 0 ? null : `type.${i % 4}`;
      // Groups of four share a received_at: the id has to order them and carry the cursor across.
      const at = windowStart.getTime() + Math.floor(i / 4) * 1000;
      events.push(newEvent({ source, eventId: `search-${i}`, eventType, receivedAt: new Date(at) }));
    }
    const ids = await insert(events);
    events.forEach((event, i) => {
      rows.push({
        id: ids[i] ?? '',
        source: event.source,
        eventId: event.eventId,
        eventType: event.eventType,
        at: event.receivedAt.getTime(),
      });
    });
    // Microseconds apart: equal as JS Dates, distinct in the database.
    await database.sql`
      UPDATE webhook_events SET received_at = received_at + interval '1 microsecond' * (n::int)
      FROM (VALUES ('search-300', 300), ('search-301', 301), ('search-302', 302)) AS micro(event_id, n)
      WHERE webhook_events.event_id = micro.event_id`;
  });

  /** What a search should find: newest first, ties by row id, as the database orders UUIDs. */
  const expected = async (where: (row: (typeof rows)[number]) => boolean) => {
    const ordered = await database.sql<{ id: string }[]>`
      SELECT id FROM webhook_events
      WHERE received_at >= ${windowStart} AND received_at < ${windowEnd}
      ORDER BY received_at DESC, id ASC`;
    const wanted = new Set(rows.filter(where).map((row) => row.id));
    return ordered.map((row) => row.id).filter((id) => wanted.has(id));
  };

  async function walk(request: Awaited<ReturnType<typeof makeApp>>['request'], query: string, limit: number) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const suffix: string = cursor === null ? '' : `&cursor=${cursor}`;
      const response = await request(`/api/events?${query}&limit=${limit}${suffix}`, { user: ADMIN });
      expect(response.status).toBe(200);
      const page = (await response.json()) as {
        events: Array<{ id: string; receivedAt: string; source: string }>;
        nextCursor: string | null;
      };
      expect(page.events.length).toBeLessThanOrEqual(limit);
      seen.push(...page.events.map((event) => event.id));
      cursor = page.nextCursor;
      pages += 1;
      expect(pages).toBeLessThan(100);
    } while (cursor !== null);
    return { seen, pages };
  }

  const range = `since=${windowStart.toISOString()}&until=${windowEnd.toISOString()}`;

  it('pages through every match newest first, without duplicates or gaps', async () => {
    const { request } = await makeApp();
    const { seen, pages } = await walk(request, range, 37);
    const all = await expected(() => true);
    expect(all).toHaveLength(320);
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBe(Math.ceil(320 / 37));
  });

  it('filters by source, event type, event id and time range, and pages the filtered result', async () => {
    const { request } = await makeApp();
    const bySource = await walk(request, `${range}&source=beta`, 25);
    expect(bySource.seen).toEqual(await expected((row) => row.source === 'beta'));

    const byType = await walk(request, `${range}&source=alpha&eventType=type.2`, 7);
    expect(byType.seen).toEqual(
      await expected((row) => row.source === 'alpha' && row.eventType === 'type.2'),
    );

    const byId = await walk(request, `${range}&eventId=search-17`, 50);
    expect(byId.seen).toEqual(await expected((row) => row.eventId === 'search-17'));
    expect(byId.seen).toHaveLength(1);

    const since = new Date(windowStart.getTime() + 10_000);
    const until = new Date(windowStart.getTime() + 20_000);
    const byTime = await walk(request, `since=${since.toISOString()}&until=${until.toISOString()}`, 9);
    expect(byTime.seen).toEqual(
      await expected((row) => row.at >= since.getTime() && row.at < until.getTime()),
    );
    expect(byTime.seen).toHaveLength(40);
  });

  it('answers the first page with summaries and the next cursor', async () => {
    const { request } = await makeApp();
    const response = await request(`/api/events?${range}&source=gamma&limit=2`, { user: ADMIN });
    const page = (await response.json()) as { events: Array<Record<string, unknown>>; nextCursor: string };
    expect(page.events).toHaveLength(2);
    expect(Object.keys(page.events[0] ?? {}).sort()).toEqual(
      ['eventId', 'eventType', 'id', 'processedAt', 'receivedAt', 'source'].sort(),
    );
    expect(page.nextCursor).toMatch(/^[\w-]+$/);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['since=yesterday', 'since'],
    ['until=2026-11-22T10:00', 'until'],
    ['source=Not%20A%20Source', 'source'],
    ['since=2h&until=3h', 'until'],
  ])('refuses %s with 400 naming the field', async (query, field) => {
    const { request } = await makeApp();
    const response = await request(`/api/events?${query}`, { user: ADMIN });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message.startsWith(`${field}:`)).toBe(true);
  });

  it.each([
    'since=1000000d',
    'until=1000000d',
    'since=999999999w',
    'since=0000-01-01',
    'until=9999-12-31T23:00:00-05:00',
    `cursor=${Buffer.from('["0000-01-01 00:00:00+00","6f1c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6"]').toString('base64url')}`,
  ])('answers a time the database cannot hold (%s) with 400, on the API and the page', async (query) => {
    const { request } = await makeApp();
    const api = await request(`/api/events?${query}`, { user: ADMIN });
    expect(api.status).toBe(400);
    const body = (await api.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toMatch(/^(since|until|cursor): /);
    const html = await request(`/?${query}`, { user: ADMIN, headers: { accept: 'text/html' } });
    expect(html.status).toBe(400);
  });

  it('accepts times at the bounds, 1900-01-01 and 9999-12-31', async () => {
    const { request } = await makeApp();
    const response = await request('/api/events?since=1900-01-01&until=9999-12-31T23:59:59.999Z', {
      user: ADMIN,
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { events: unknown[] }).events.length).toBeGreaterThan(0);
  });

  it('renders the event browser with the matches and a link to the older page', async () => {
    const { request } = await makeApp();
    const first = await request(`/?${range}&source=alpha&limit=20`, {
      user: ADMIN,
      headers: { accept: 'text/html' },
    });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(first.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await first.text();
    // The inline style is CSS, not escaped text.
    expect(html).toContain('"Segoe UI"');
    const alpha = await expected((row) => row.source === 'alpha');
    for (const id of alpha.slice(0, 20)) expect(html).toContain(`/events/${id}`);
    expect(html).not.toContain(`/events/${alpha[20]}`);
    const older = /href="(\/\?[^"]*cursor=[^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    expect(older).toBeDefined();
    const second = await (await request(older ?? '/', { user: ADMIN })).text();
    for (const id of alpha.slice(20, 40)) expect(second).toContain(`/events/${id}`);
    expect(second).toContain('← Newest');

    const refused = await request('/?since=soon', { user: ADMIN, headers: { accept: 'text/html' } });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('since: cannot read');
  });
});

describe('one stored event', () => {
  const headers = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-hub-signature-256': 'sha256=5ec7e7d1a9c0ffee',
    authorization: 'Bearer leaked-token-value',
    'x-partner-api-key': 'leaked-api-key',
    'x-session-token': 'leaked-session',
  };
  const body = '{"hook_id": 12345678901234567890, "zen": "Design for failure."}';

  it('shows headers with every credential-looking one redacted, the raw body and the payload', async () => {
    const { request } = await makeApp();
    const [id] = await insert([newEvent({ source: 'github', eventType: 'push', headers, body })]);
    const response = await request(`/events/${id}`, { user: ADMIN, headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    for (const secret of ['5ec7e7d1a9c0ffee', 'leaked-token-value', 'leaked-api-key', 'leaked-session']) {
      expect(html).not.toContain(secret);
    }
    expect(html).toContain('[redacted]');
    expect(html).toContain('x-github-event');
    expect(html).toContain('push');
    // The raw body byte for byte (HTML-escaped), and the payload indented (jsonb orders the keys)
    // with every digit of the big number.
    expect(html).toContain(
      '{&quot;hook_id&quot;: 12345678901234567890, &quot;zen&quot;: &quot;Design for failure.&quot;}',
    );
    expect(html).toMatch(/\n {4}&quot;hook_id&quot;: 12345678901234567890\n/);
    expect(html).toContain('Replay');

    const api = await request(`/api/events/${id}`, { user: ADMIN });
    expect(api.status).toBe(200);
    const json = (await api.json()) as { event: { headers: Record<string, string>; body: string } };
    expect(json.event.body).toBe(body);
    expect(json.event.headers).toEqual({
      authorization: '[redacted]',
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-hub-signature-256': '[redacted]',
      'x-partner-api-key': '[redacted]',
      'x-session-token': '[redacted]',
    });
  });

  it('answers 404 for an unknown id and 400 for one that is not a UUID, as JSON or as a page', async () => {
    const { request } = await makeApp();
    const missing = await request(`/api/events/${MISSING_ID}`, { user: ADMIN });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'not_found', message: 'No stored event has this id.' },
    });
    const malformed = await request('/api/events/not-a-uuid', { user: ADMIN });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'invalid_request' } });
    const page = await request(`/events/${MISSING_ID}`, { user: ADMIN, headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('No stored event has this id.');
  });
});

describe('an event whose payload text dwarfs its body', () => {
  // 500 bytes of body whose payload text is 6.5 million characters: `1e131071` is 131,072 digits.
  // The worker bounds numbers before storing now; rows stored earlier still hold them.
  const body = `[${Array.from({ length: 50 }, () => '1e131071').join(', ')}]`;

  async function insertHuge(): Promise<string> {
    const [row] = await database.sql<{ id: string }[]>`
      INSERT INTO webhook_events (source, event_id, event_type, headers, body, payload, received_at)
      VALUES ('stripe', ${`huge-${seq++}`}, NULL, '{}', ${body}, ${body}::text::jsonb, now())
      RETURNING id`;
    if (row === undefined) throw new Error('no row');
    return row.id;
  }

  it('answers its page with 200 and at most MAX_SHOWN_CHARS of payload, saying it was cut', async () => {
    const { request } = await makeApp();
    const id = await insertHuge();
    const response = await request(`/events/${id}`, { user: ADMIN, headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html.length).toBeLessThan(MAX_SHOWN_CHARS + 100_000);
    expect(html).toContain('id="payload-cut"');
    expect(html).toMatch(/the first 1,048,576 of 6,553,\d{3} characters are shown/);
    expect(html).not.toContain('id="body-cut"');
    expect(html).toContain(body);
  });

  it('answers the API with 200, the body, a null payload flagged as cut, and a bounded size', async () => {
    const { request } = await makeApp();
    const id = await insertHuge();
    const response = await request(`/api/events/${id}`, { user: ADMIN });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text.length).toBeLessThan(10_000);
    expect((JSON.parse(text) as { event: unknown }).event).toMatchObject({
      body,
      bodyTruncated: false,
      payload: null,
      payloadTruncated: true,
    });
  });

  it('cuts the body too at the bound, on the page and in the API', async () => {
    const { request } = await makeApp({ maxShownChars: 100 });
    const [id] = await insert([newEvent({ body: `{"text":"${'x'.repeat(500)}"}` })]);
    const page = await (await request(`/events/${id}`, { user: ADMIN })).text();
    expect(page).toContain('id="body-cut"');
    expect(page).toContain('the first 100 of 511 characters are shown');
    expect(page).toContain('id="payload-cut"');
    const api = (await (await request(`/api/events/${id}`, { user: ADMIN })).json()) as {
      event: { body: string; bodyTruncated: boolean; payload: unknown; payloadTruncated: boolean };
    };
    expect(api.event.body).toBe(`{"text":"${'x'.repeat(91)}`);
    expect(api.event).toMatchObject({ bodyTruncated: true, payload: null, payloadTruncated: true });
  });
});

describe('replay', () => {
  it('re-enqueues the stored event as a replay job, from the API and from the page', async () => {
    const { queue, request } = await makeApp();
    const event = newEvent({ source: 'github', eventId: 'delivery-replay', eventType: 'push' });
    const [id] = await insert([event]);

    const response = await request(`/api/events/${id}/replay`, { method: 'POST', user: ADMIN });
    expect(response.status).toBe(202);
    const { replayed } = (await response.json()) as {
      replayed: { id: string; source: string; eventId: string; jobId: string };
    };
    expect(replayed).toMatchObject({ id, source: 'github', eventId: 'delivery-replay' });
    const job = await queue.getJob(replayed.jobId);
    expect(job?.data).toMatchObject({
      source: 'github',
      eventId: 'delivery-replay',
      eventType: 'push',
      body: event.body,
      replay: true,
    });
    expect(await queue.getWaitingCount()).toBe(1);

    const form = await request(`/events/${id}/replay`, { method: 'POST', user: ADMIN });
    expect(form.status).toBe(303);
    const location = form.headers.get('location') ?? '';
    expect(location).toMatch(new RegExp(`^/events/${id}\\?replayed=`));
    expect(await queue.getWaitingCount()).toBe(2);
    const after = await (await request(location, { user: ADMIN })).text();
    expect(after).toContain('Replayed as job');
  });

  it('answers 404 for an unknown event and 400 for a malformed id, and enqueues nothing', async () => {
    const { queue, request } = await makeApp();
    expect((await request(`/api/events/${MISSING_ID}/replay`, { method: 'POST', user: ADMIN })).status).toBe(
      404,
    );
    expect((await request('/api/events/42/replay', { method: 'POST', user: ADMIN })).status).toBe(400);
    expect(await queue.count()).toBe(0);
  });
});

describe('retrying every failed job', () => {
  it('moves the failed jobs back to waiting in the background and reports progress by id', async () => {
    const { queue, names, request } = await makeApp({ retryBatchSize: 2 });
    const worker = new Worker<EventJob>(
      names.name,
      async () => {
        throw new Error('the handler broke');
      },
      { connection: workerConnection, prefix: names.prefix, concurrency: 5 },
    );
    worker.on('error', () => {});
    await queue.addBulk(
      Array.from({ length: 5 }, (_, i) => ({
        name: 'stripe',
        data: {
          source: 'stripe',
          eventId: `f-${i}`,
          eventType: null,
          headers: {},
          body: '{}',
          receivedAt: 1,
        },
        opts: { jobId: `stripe/f-${i}`, attempts: 1, removeOnFail: false },
      })),
    );
    await waitFor(async () => (await queue.getFailedCount()) === 5, 15_000, '5 failed jobs');
    await worker.close();

    const response = await request('/api/failed/retry', { method: 'POST', user: ADMIN });
    expect(response.status).toBe(202);
    const { action } = (await response.json()) as { action: { id: string; state: string } };
    expect(response.headers.get('location')).toBe(`/api/failed/retry/${action.id}`);
    expect(['running', 'done']).toContain(action.state);

    const done = await waitFor(
      async () => {
        const progress = await request(`/api/failed/retry/${action.id}`, { user: ADMIN });
        const { action: current } = (await progress.json()) as {
          action: { state: string; retried: number; total: number; seen: number; user: string };
        };
        return current.state === 'done' ? current : null;
      },
      15_000,
      'the retry to finish',
    );
    expect(done).toMatchObject({ retried: 5, total: 5, seen: 5, user: 'admin' });
    expect(await queue.getFailedCount()).toBe(0);
    expect(await queue.getWaitingCount()).toBe(5);

    const page = await request(`/?retry=${action.id}`, { user: ADMIN });
    expect(await page.text()).toContain('Retried 5 failed jobs.');
    const form = await request('/failed/retry', { method: 'POST', user: ADMIN });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toMatch(/^\/\?retry=[0-9a-f-]{36}$/);
  });

  it('answers 404 for an unknown action', async () => {
    const { request } = await makeApp();
    expect((await request(`/api/failed/retry/${MISSING_ID}`, { user: ADMIN })).status).toBe(404);
  });
});

describe('counts and signature failures', () => {
  let ingest: Server;
  let ingestUrl = '';
  const exposition = [
    '# HELP inlet_signature_failures_total Deliveries refused because their signature or token did not verify.',
    '# TYPE inlet_signature_failures_total counter',
    'inlet_signature_failures_total{source="counted",reason="invalid_signature"} 7',
    'inlet_signature_failures_total{source="counted",reason="timestamp_out_of_tolerance"} 2',
    'inlet_ingest_requests_total{source="counted",status="202"} 40',
    '',
  ].join('\n');

  beforeAll(async () => {
    ingest = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(exposition));
    ingest.listen(0, '127.0.0.1');
    await once(ingest, 'listening');
    ingestUrl = `http://127.0.0.1:${(ingest.address() as AddressInfo).port}/metrics`;
    cleanups.push(() => new Promise((resolve) => ingest.close(() => resolve())));
  });

  it('counts a source’s events of the last hour and day, and reads signature failures from ingest', async () => {
    const { request } = await makeApp({ ingestMetricsUrl: ingestUrl });
    const now = Date.now();
    await insert([
      newEvent({ source: 'counted', receivedAt: new Date(now - 60_000) }),
      newEvent({ source: 'counted', receivedAt: new Date(now - 50 * 60_000) }),
      newEvent({ source: 'counted', receivedAt: new Date(now - 5 * 3_600_000) }),
      newEvent({ source: 'counted', receivedAt: new Date(now - 23 * 3_600_000) }),
      newEvent({ source: 'counted', receivedAt: new Date(now - 25 * 3_600_000) }),
      newEvent({ source: 'counted', receivedAt: new Date(now - 30 * 86_400_000) }),
    ]);
    const response = await request('/api/stats', { user: VIEWER });
    expect(response.status).toBe(200);
    const stats = (await response.json()) as {
      sources: Array<{ source: string; lastHour: number; lastDay: number }>;
      signatureFailures: unknown;
      queue: unknown;
    };
    expect(stats.sources.find((row) => row.source === 'counted')).toEqual({
      source: 'counted',
      lastHour: 2,
      lastDay: 4,
    });
    expect(stats.signatureFailures).toEqual({
      available: true,
      failures: [
        { source: 'counted', reason: 'invalid_signature', count: 7 },
        { source: 'counted', reason: 'timestamp_out_of_tolerance', count: 2 },
      ],
    });
    expect(stats.queue).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    const html = await (await request('/', { user: VIEWER })).text();
    expect(html).toContain('timestamp_out_of_tolerance');
  });

  it('says ingest metrics are unavailable when ingest cannot be reached', async () => {
    const { request } = await makeApp({ ingestMetricsUrl: 'http://127.0.0.1:9/metrics' });
    const stats = (await (await request('/api/stats', { user: ADMIN })).json()) as {
      signatureFailures: { available: boolean };
    };
    expect(stats.signatureFailures.available).toBe(false);
    expect(await (await request('/', { user: ADMIN })).text()).toContain('Ingest metrics unavailable');
  });
});

describe('Strict-Transport-Security', () => {
  /** GET /healthz as the operator through a real server, HTTPS when given a certificate. */
  async function headersFrom(tls?: { cert: string; key: string; ca: string }) {
    const { app } = await makeApp();
    const server = serve({
      fetch: app.fetch,
      port: 0,
      hostname: '127.0.0.1',
      ...(tls ? { createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key } } : {}),
    });
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const options = { host: '127.0.0.1', port, path: '/healthz', headers: { authorization: basic(ADMIN) } };
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const sent = tls ? httpsGet({ ...options, ca: tls.ca }, resolve) : httpGet(options, resolve);
      sent.on('error', reject);
    });
    response.resume();
    expect(response.statusCode).toBe(200);
    return response.headers;
  }

  it.skipIf(!opensslAvailable())('is sent when the dashboard serves HTTPS itself', async () => {
    const certs = await createTestCertificates();
    cleanups.push(() => certs.remove());
    const headers = await headersFrom({
      cert: await readFile(certs.server.certFile, 'utf8'),
      key: await readFile(certs.server.keyFile, 'utf8'),
      ca: await readFile(certs.caFile, 'utf8'),
    });
    expect(headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('is not sent over plain HTTP', async () => {
    const headers = await headersFrom();
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['strict-transport-security']).toBeUndefined();
  });
});

describe('health, metrics and logs', () => {
  it('is healthy, and ready only while Redis and the database answer', async () => {
    const { request } = await makeApp();
    expect(await (await request('/healthz', { user: VIEWER })).json()).toEqual({ status: 'ok' });
    const ready = await request('/readyz', { user: VIEWER });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', redis: true, database: true });

    const deadRedis = createRedis('redis://127.0.0.1:9', 'producer', { retryStrategy: () => null });
    deadRedis.on('error', () => {});
    const deadSql = createSql('postgres://postgres@127.0.0.1:9/none', { max: 1, connect_timeout: 1 });
    cleanups.push(async () => {
      deadRedis.disconnect();
      await deadSql.end({ timeout: 1 });
    });
    const broken = await makeApp({ redis: deadRedis, sql: deadSql });
    const unready = await broken.request('/readyz', { user: VIEWER });
    expect(unready.status).toBe(503);
    expect(await unready.json()).toEqual({ status: 'unavailable', redis: false, database: false });
  });

  it('counts requests by route pattern and status, never by raw path', async () => {
    const metrics = createDashboardMetrics();
    const { request } = await makeApp({ metrics });
    await request(`/api/events/${MISSING_ID}`, { user: ADMIN });
    await request(`/api/events/${MISSING_ID}`, { user: ADMIN });
    await request('/no/such/page', { user: ADMIN });
    await request('/api/events');
    const response = await request('/metrics', { user: ADMIN });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('inlet_dashboard_requests_total{route="/api/events/:id",status="404"} 2');
    expect(text).toContain('inlet_dashboard_requests_total{route="unmatched",status="404"} 1');
    expect(text).toContain('inlet_dashboard_requests_total{route="/api/events",status="401"} 1');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain(MISSING_ID);
  });

  it('logs one line per request with its request id, and never a password or credentials', async () => {
    const { request } = await makeApp();
    logLines.length = 0;
    await request('/api/events?limit=1', { user: ADMIN, headers: { 'x-request-id': 'trace-abc.123:4' } });
    await request('/api/events?limit=1', { user: ADMIN, headers: { 'x-request-id': 'bad id with spaces' } });
    await request('/api/events', {
      headers: { authorization: basic({ name: 'admin', password: 'typo-password' }) },
    });
    const lines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests).toHaveLength(3);
    expect(requests[0]).toMatchObject({
      requestId: 'trace-abc.123:4',
      method: 'GET',
      route: '/api/events',
      status: 200,
      user: 'admin',
    });
    expect(typeof requests[0]?.ms).toBe('number');
    expect(requests[1]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(requests[2]).toMatchObject({ status: 401 });
    const text = logLines.join('\n');
    for (const secret of [
      ADMIN.password,
      VIEWER.password,
      'typo-password',
      basic(ADMIN).slice(6),
      'authorization',
      'Authorization',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('answers errors as JSON without a stack trace', async () => {
    const brokenSql = createSql('postgres://postgres@127.0.0.1:9/none', { max: 1, connect_timeout: 1 });
    cleanups.push(() => brokenSql.end({ timeout: 1 }));
    const { request } = await makeApp({ sql: brokenSql });
    const response = await request('/api/events', { user: ADMIN });
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'unavailable' } });
    expect(text).not.toMatch(/at .*\.js:\d+/);
  });
});
