import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { IpRanges, parseSources } from '@inlet/config';
import {
  createEventQueue,
  createRedis,
  createRedisRateLimitStore,
  EventProducer,
  type QueueNames,
} from '@inlet/queue';
import { createMemoryNonceStore } from '@inlet/signatures';
import { testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import type { Context } from 'hono';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type IngestDeps } from './app.js';
import { BacklogMonitor } from './backlog-monitor.js';
import { BodyBudget } from './body-budget.js';
import { createIngestMetrics } from './metrics.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { signatureHeaders } from './test-signing.js';

const logger = pino({ level: 'silent' });

const sources = parseSources({
  sources: {
    limited: {
      provider: 'hmac',
      secrets: ['k1'],
      header: 'X-Sig',
      rateLimit: { points: 5, durationSeconds: 60 },
    },
    other: {
      provider: 'hmac',
      secrets: ['k2'],
      header: 'X-Sig',
      rateLimit: { points: 5, durationSeconds: 60 },
    },
    open: { provider: 'hmac', secrets: ['k3'], header: 'X-Sig' },
    github: {
      provider: 'hmac',
      secrets: ['k4'],
      header: 'X-Sig',
      allowedIps: ['192.30.252.0/22', '2606:50c0::/32'],
    },
  },
});

let counter = 0;
function delivery(sourceName: string, extraHeaders: Record<string, string> = {}): RequestInit {
  counter += 1;
  const body = JSON.stringify({ n: counter, at: Date.now() });
  return {
    method: 'POST',
    body,
    headers: { ...signatureHeaders(sources, sourceName, body), ...extraHeaders },
  };
}

interface Instance {
  readonly app: ReturnType<typeof createApp>;
  readonly producer: EventProducer;
}

describe('ingest refuses abuse before reading the body', () => {
  const names: QueueNames = uniqueQueue();
  const producers: EventProducer[] = [];
  let peer: string | undefined = '203.0.113.7';
  const metrics = createIngestMetrics({ sources: sources.keys(), defaultMetrics: false });

  /** An ingest instance of its own (own connections, own local rate-limit state) on the shared queue. */
  function instance(extra: Partial<IngestDeps> = {}): Instance {
    const connection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(connection, names), connection);
    producers.push(producer);
    const app = createApp({
      sources,
      producer,
      nonces: createMemoryNonceStore(),
      logger,
      rateLimiter: new SourceRateLimiter({ store: createRedisRateLimitStore(connection, names.prefix) }),
      defaultRateLimit: { points: 1000, durationSeconds: 1 },
      peerAddress: (_c: Context) => peer,
      trustedProxies: IpRanges.parse(['10.0.0.0/8']),
      ...extra,
    });
    return { app, producer };
  }

  let one: Instance;
  let two: Instance;
  beforeAll(async () => {
    one = instance({ metrics });
    two = instance();
    await Promise.all([one.producer.waitUntilReady(), two.producer.waitUntilReady()]);
  });
  afterAll(async () => {
    await one.producer.queue.obliterate({ force: true });
    for (const producer of producers) await producer.close();
  });

  const waiting = () => one.producer.backlog();

  it('answers 429 rate_limited with Retry-After past the limit, shared by two instances', async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 8; i += 1) {
      const response = await (i % 2 === 0 ? one : two).app.request('/webhooks/limited', delivery('limited'));
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
    expect(refused?.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(Number(refused?.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await refused?.json()).toEqual({
      error: { code: 'rate_limited', message: expect.any(String) },
    });
  });

  it('keeps accepting another source while one is over its limit', async () => {
    const flood = await Promise.all(
      Array.from({ length: 40 }, () => one.app.request('/webhooks/limited', delivery('limited'))),
    );
    expect(flood.every((response) => response.status === 429)).toBe(true);
    for (let i = 0; i < 5; i += 1) {
      expect((await two.app.request('/webhooks/other', delivery('other'))).status).toBe(202);
    }
    expect((await one.app.request('/webhooks/open', delivery('open'))).status).toBe(202);
  });

  it('leaves a bad signature out of the rate limit: 401 even once the window is spent', async () => {
    const { app, producer } = instance();
    await producer.waitUntilReady();
    const bad = { ...delivery('other'), headers: { 'content-type': 'application/json', 'X-Sig': 'nope' } };
    // `other` spent its 5 points above; this instance has not learnt it yet, and a forgery asks nobody.
    expect((await app.request('/webhooks/other', bad)).status).toBe(401);
    expect((await app.request('/webhooks/other', delivery('other'))).status).toBe(429);
    // Now it knows: refused before the body is read.
    expect((await app.request('/webhooks/other', bad)).status).toBe(429);
  });

  it('admits allowedIps only: 403 ip_not_allowed for anyone else, IPv4, IPv6 and IPv4-mapped', async () => {
    const cases: Array<[string, number]> = [
      ['192.30.252.10', 202],
      ['::ffff:192.30.253.1', 202],
      ['2606:50c0:8001::154', 202],
      ['203.0.113.7', 403],
      ['::ffff:203.0.113.7', 403],
      ['2001:db8::1', 403],
    ];
    for (const [address, status] of cases) {
      peer = address;
      const response = await one.app.request('/webhooks/github', delivery('github'));
      expect(response.status, address).toBe(status);
      if (status === 403) {
        expect(await response.json()).toEqual({
          error: { code: 'ip_not_allowed', message: expect.any(String) },
        });
      }
    }
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    peer = '203.0.113.7';
    const forged = await one.app.request(
      '/webhooks/github',
      delivery('github', { 'X-Forwarded-For': '192.30.252.10' }),
    );
    expect(forged.status).toBe(403);
    peer = '10.1.1.1';
    const proxied = await one.app.request(
      '/webhooks/github',
      delivery('github', { 'X-Forwarded-For': '1.1.1.1, 192.30.252.10, 10.2.2.2' }),
    );
    expect(proxied.status).toBe(202);
    const spoofedThroughProxy = await one.app.request(
      '/webhooks/github',
      delivery('github', { 'X-Forwarded-For': '192.30.252.10, 203.0.113.7' }),
    );
    expect(spoofedThroughProxy.status).toBe(403);
  });

  it('refuses when the client address cannot be known (no socket)', async () => {
    peer = undefined;
    expect((await one.app.request('/webhooks/github', delivery('github'))).status).toBe(403);
    peer = '203.0.113.7';
  });

  it('leaves no job for any refused delivery', async () => {
    const jobs = await one.producer.queue.getJobs(['waiting']);
    const bySource = new Map<string, number>();
    for (const job of jobs) bySource.set(job.data.source, (bySource.get(job.data.source) ?? 0) + 1);
    expect(Object.fromEntries(bySource)).toEqual({ limited: 5, other: 5, open: 1, github: 4 });
    expect(await waiting()).toBe(15);
  });

  it('counts 429 and 403 in inlet_ingest_requests_total, by source', async () => {
    const text = await (await one.app.request('/metrics')).text();
    expect(text).toMatch(/inlet_ingest_requests_total\{source="limited",status="429"\} (\d+)/);
    expect(text).toMatch(/inlet_ingest_requests_total\{source="github",status="403"\} [1-9]/);
    expect(text).toContain('inlet_ingest_requests_total{source="limited",status="202"} 3');
  });
});

describe('ingest over a real socket', () => {
  it('takes the socket address by default, and refuses before the announced body arrives', async () => {
    const names = uniqueQueue();
    const connection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(connection, names), connection);
    const app = createApp({ sources, producer, nonces: createMemoryNonceStore(), logger });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/webhooks/github',
          headers: { 'content-type': 'application/json', 'content-length': String(512 * 1024) },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
            req.destroy();
          });
        });
        req.on('error', reject);
        // A sliver of the announced body, and never the rest.
        req.write('{"a":');
      });
      // 127.0.0.1 is not among github's allowedIps.
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'ip_not_allowed' } });
    } finally {
      server.close();
      await producer.close();
    }
  });
});

describe('ingest under a full backlog', () => {
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(connection, names), connection);
  const backlog = new BacklogMonitor({ read: () => producer.backlog(), max: 3 });
  const metrics = createIngestMetrics({ sources: sources.keys(), defaultMetrics: false });
  const app = createApp({
    sources,
    producer,
    nonces: createMemoryNonceStore(),
    logger,
    backlog,
    metrics,
    peerAddress: () => '192.30.252.1',
  });

  beforeAll(() => producer.waitUntilReady());
  afterAll(async () => {
    backlog.stop();
    await producer.queue.obliterate({ force: true });
    await producer.close();
  });

  it('answers 503 unavailable with Retry-After once the backlog reaches its bound, and accepts again once it drains', async () => {
    await backlog.refresh();
    expect(backlog.full).toBe(false);
    for (let i = 0; i < 4; i += 1) {
      expect((await app.request('/webhooks/open', delivery('open'))).status).toBe(202);
    }
    // The count is cached: nothing changes until it is read again.
    expect((await app.request('/webhooks/open', delivery('open'))).status).toBe(202);
    await backlog.refresh();
    expect(backlog.depth).toBe(5);

    const before = await producer.backlog();
    const refused = await app.request('/webhooks/open', delivery('open'));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(await refused.json()).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    expect(await producer.backlog()).toBe(before);
    expect(await (await app.request('/metrics')).text()).toContain('inlet_ingest_backlog 5');

    // A worker takes the jobs.
    await producer.queue.drain();
    await backlog.refresh();
    expect((await app.request('/webhooks/open', delivery('open'))).status).toBe(202);
  });

  it('reads the backlog on a timer once started, and stops', async () => {
    const reads: number[] = [];
    const monitor = new BacklogMonitor({
      read: async () => {
        reads.push(Date.now());
        return producer.backlog();
      },
      max: 10,
      intervalMs: 20,
    }).start();
    // Generous: timers run late on a busy machine.
    await waitFor(() => reads.length >= 3, 5_000, 'three reads');
    monitor.stop();
    const count = reads.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reads.length).toBe(count);
  });

  it('keeps the last count when a read fails, and tells when it fills and drains', async () => {
    let next: number | Error = 12;
    const changes: Array<[boolean, number]> = [];
    const monitor = new BacklogMonitor({
      read: async () => {
        if (next instanceof Error) throw next;
        return next;
      },
      max: 10,
      onChange: (full, depth) => changes.push([full, depth]),
    });
    await monitor.refresh();
    expect(monitor.full).toBe(true);
    next = new Error('Connection is closed.');
    await monitor.refresh();
    expect(monitor.depth).toBe(12);
    next = 3;
    await monitor.refresh();
    expect(monitor.full).toBe(false);
    expect(changes).toEqual([
      [true, 12],
      [false, 3],
    ]);
  });
});

describe('ingest with a bound on the bytes of bodies in flight', () => {
  const BUDGET = 64 * 1024;
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(connection, names), connection);
  const metrics = createIngestMetrics({ sources: sources.keys(), defaultMetrics: false });
  const refusals: number[] = [];
  const bodyBudget = new BodyBudget(BUDGET, (held) => refusals.push(held));
  const app = createApp({ sources, producer, nonces: createMemoryNonceStore(), logger, metrics, bodyBudget });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  let port = 0;

  beforeAll(async () => {
    if (!server.listening) await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    await producer.waitUntilReady();
  });
  afterAll(async () => {
    server.close();
    await producer.queue.obliterate({ force: true });
    await producer.close();
  });

  /** A signed delivery to `open` whose body is about `bytes` long. */
  function sized(bytes: number): RequestInit & { body: string } {
    counter += 1;
    const body = JSON.stringify({ n: counter, pad: 'p'.repeat(Math.max(0, bytes - 40)) });
    const source = sources.get('open');
    if (!source) throw new Error('no source open');
    const signature = source.provider.sign(
      { body, secret: 'k3', timestamp: Math.floor(Date.now() / 1000), id: 'x' },
      source.settings,
    );
    if (signature instanceof Promise) throw new Error('synchronous signers only');
    return { method: 'POST', body, headers: { 'content-type': 'application/json', ...signature } };
  }

  const held = async () => {
    const text = await (await app.request('/metrics')).text();
    return Number(/^inlet_ingest_body_bytes_in_flight (\d+)$/m.exec(text)?.[1]);
  };

  /** A delivery over the socket that announces `announced` bytes and sends only a sliver of them. */
  function trickle(announced: number) {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/webhooks/open',
      headers: { 'content-type': 'application/json', 'content-length': String(announced) },
    });
    const answered = new Promise<number>((resolve) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(-1));
    });
    req.write('{"a":');
    return { req, answered };
  }

  it('counts only the bytes that arrived, refuses with 503 and Retry-After a body that would go past the bound, and takes it once room is made', async () => {
    expect(await held()).toBe(0);
    const slow = trickle(48 * 1024);
    // Announcing 48 KiB holds nothing: only the 5 bytes sent so far count.
    await waitFor(async () => (await held()) === 5, 5000, 'the slow body to be held');
    slow.req.write('p'.repeat(46 * 1024));
    await waitFor(async () => (await held()) === 5 + 46 * 1024, 5000, 'more of the slow body');

    const before = await producer.backlog();
    const big = sized(20 * 1024);
    const refused = await app.request('/webhooks/open', big);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: { code: 'unavailable', message: expect.any(String) } });
    expect(refusals).toEqual([5 + 46 * 1024]);
    // A small body still fits beside the slow one.
    expect((await app.request('/webhooks/open', sized(1024))).status).toBe(202);

    // A chunked body (no Content-Length) is counted as it arrives, and refused as it goes past.
    const chunks = [new TextEncoder().encode('{"pad":"'), new Uint8Array(30 * 1024).fill(112)];
    const streamed = await app.request('/webhooks/open', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sig': 'sha256=00' },
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(503);
    expect(await producer.backlog()).toBe(before + 1);

    // The slow sender gives up: its bytes are given back, and the refused body now fits.
    slow.req.destroy();
    await slow.answered;
    await waitFor(async () => (await held()) === 0, 5000, 'the slow body to be given back');
    expect((await app.request('/webhooks/open', big)).status).toBe(202);
    expect(await held()).toBe(0);
  });

  it('always takes one body when nothing else is held, even one larger than the bound', async () => {
    expect(await held()).toBe(0);
    expect((await app.request('/webhooks/open', sized(BUDGET + 1024))).status).toBe(202);
    expect(await held()).toBe(0);
  });

  it('gives the bytes back whatever the answer: bad signature, bad body, unknown source', async () => {
    const bad = { ...sized(2048), headers: { 'content-type': 'application/json', 'x-sig': 'sha256=00' } };
    expect((await app.request('/webhooks/open', bad)).status).toBe(401);
    const notUtf8 = { ...sized(10), body: new Uint8Array([0xff, 0xfe, 0xfd]) };
    expect((await app.request('/webhooks/open', notUtf8)).status).toBe(400);
    expect((await app.request('/webhooks/nobody', sized(100))).status).toBe(404);
    expect(await held()).toBe(0);
    expect(await (await app.request('/metrics')).text()).toContain(
      'inlet_ingest_requests_total{source="open",status="503"} 2',
    );
  });
});
