import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { parseSources } from '@inlet/config';
import { createEventQueue, createRedis, createRedisRateLimitStore, EventProducer } from '@inlet/queue';
import { createMemoryNonceStore, generateJwtKeyPair } from '@inlet/signatures';
import { testRedisUrl, uniqueQueue } from '@inlet/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type IngestDeps } from './app.js';
import { FailureLimiter } from './failure-limiter.js';
import { createIngestServer } from './ingest-server.js';
import { createIngestMetrics } from './metrics.js';
import { createMetricsApp } from './metrics-server.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { signatureHeaders } from './test-signing.js';

const sources = parseSources({
  sources: {
    limited: {
      provider: 'hmac',
      secrets: ['k1'],
      header: 'X-Sig',
      rateLimit: { points: 5, durationSeconds: 60 },
    },
    other: { provider: 'hmac', secrets: ['k2'], header: 'X-Sig' },
  },
});

let counter = 0;
function delivery(sourceName: string): RequestInit {
  counter += 1;
  const body = JSON.stringify({ n: counter, at: Date.now() });
  return { method: 'POST', body, headers: signatureHeaders(sources, sourceName, body) };
}

function forged(): RequestInit {
  return { method: 'POST', body: '{"forged":true}', headers: { 'content-type': 'application/json' } };
}

/** Log lines written by the app, parsed. */
function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('ingest with forged deliveries', () => {
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const producers: EventProducer[] = [];

  /** An app of its own (own rate-limit state) on the shared queue, with requests from `peer`. */
  async function instance(peer: { address: string }, extra: Partial<IngestDeps> = {}) {
    const producer = new EventProducer(createEventQueue(connection, names), connection);
    producers.push(producer);
    await producer.waitUntilReady();
    return createApp({
      sources,
      producer,
      nonces: createMemoryNonceStore(),
      logger: pino({ level: 'silent' }),
      rateLimiter: new SourceRateLimiter({
        store: createRedisRateLimitStore(connection, `${names.prefix}:${counter}`),
      }),
      failureLimiter: new FailureLimiter({ limit: { points: 60, durationSeconds: 60 } }),
      peerAddress: () => peer.address,
      ...extra,
    });
  }

  beforeAll(async () => {
    const producer = new EventProducer(createEventQueue(connection, names), connection);
    producers.push(producer);
    await producer.waitUntilReady();
  });
  afterAll(async () => {
    await producers[0]?.queue.obliterate({ force: true });
    for (const producer of producers) await producer.close();
  });

  it('does not spend the source rate limit on forgeries: five unsigned requests leave its five deliveries', async () => {
    const peer = { address: '203.0.113.7' };
    const app = await instance(peer);
    for (let i = 0; i < 5; i += 1)
      expect((await app.request('/webhooks/limited', forged())).status).toBe(401);
    // From the forger's own address and from another: the source's five points are all there.
    for (let i = 0; i < 5; i += 1) {
      peer.address = i % 2 === 0 ? '203.0.113.7' : '192.0.2.1';
      expect((await app.request('/webhooks/limited', delivery('limited'))).status).toBe(202);
    }
    // The limit itself still holds for genuine deliveries.
    const refused = await app.request('/webhooks/limited', delivery('limited'));
    expect(refused.status).toBe(429);
    // Forgeries now get 429 before they are read, and do not count as failures.
    expect((await app.request('/webhooks/limited', forged())).status).toBe(429);
  });

  it('does not let concurrent forgeries hold the points a genuine delivery needs', async () => {
    const peer = { address: '198.51.100.1' };
    const app = await instance(peer);
    const flood = Array.from({ length: 40 }, (_, i) => {
      peer.address = `198.51.100.${i + 1}`;
      return app.request('/webhooks/limited', forged());
    });
    peer.address = '192.0.2.9';
    const genuine = Array.from({ length: 5 }, () => app.request('/webhooks/limited', delivery('limited')));
    expect((await Promise.all(flood)).map((response) => response.status)).toEqual(Array(40).fill(401));
    expect((await Promise.all(genuine)).map((response) => response.status)).toEqual([
      202, 202, 202, 202, 202,
    ]);
  });

  it('answers 429 with Retry-After to an address past its failures, and keeps taking everyone else', async () => {
    const peer = { address: '203.0.113.50' };
    const app = await instance(peer, {
      failureLimiter: new FailureLimiter({ limit: { points: 3, durationSeconds: 60 } }),
    });
    for (let i = 0; i < 3; i += 1) expect((await app.request('/webhooks/other', forged())).status).toBe(401);
    const refused = await app.request('/webhooks/other', forged());
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await refused.json()).toEqual({ error: { code: 'rate_limited', message: expect.any(String) } });
    // The same address's genuine delivery to that source waits too; to another source it does not.
    expect((await app.request('/webhooks/other', delivery('other'))).status).toBe(429);
    expect((await app.request('/webhooks/limited', delivery('limited'))).status).toBe(202);
    // Another address is not touched.
    peer.address = '192.0.2.77';
    expect((await app.request('/webhooks/other', delivery('other'))).status).toBe(202);

    // IPv6 addresses count by /64.
    for (let i = 1; i <= 3; i += 1) {
      peer.address = `2001:db8:aa:bb::${i}`;
      expect((await app.request('/webhooks/other', forged())).status).toBe(401);
    }
    peer.address = '2001:db8:aa:bb:ffff::1';
    expect((await app.request('/webhooks/other', delivery('other'))).status).toBe(429);
    peer.address = '2001:db8:aa:bc::1';
    expect((await app.request('/webhooks/other', delivery('other'))).status).toBe(202);

    // Made-up source names count under one name, apart from the configured sources.
    peer.address = '203.0.113.60';
    for (const name of ['a', 'b', 'c'])
      expect((await app.request(`/webhooks/${name}`, forged())).status).toBe(404);
    expect((await app.request('/webhooks/d', forged())).status).toBe(429);
    expect((await app.request('/webhooks/other', delivery('other'))).status).toBe(202);
  });
});

describe('a rate-limited jwt source with single-use tokens', () => {
  it('does not use up the token of a delivery refused for its rate, and gives the point back for a used token', async () => {
    const keys = await generateJwtKeyPair('ES256');
    const jwtSources = parseSources({
      sources: {
        partner: {
          provider: 'jwt',
          publicKeys: [keys.publicJwk],
          issuer: 'https://issuer.example/',
          audience: 'https://hooks.example/webhooks/partner',
          requireJti: true,
          rateLimit: { points: 2, durationSeconds: 60 },
        },
      },
    });
    const names = uniqueQueue();
    const connection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(connection, names), connection);
    await producer.waitUntilReady();
    const nonces = createMemoryNonceStore();
    const build = (prefix: string) =>
      createApp({
        sources: jwtSources,
        producer,
        nonces,
        logger: pino({ level: 'silent' }),
        rateLimiter: new SourceRateLimiter({ store: createRedisRateLimitStore(connection, prefix) }),
        peerAddress: () => '192.0.2.1',
      });
    const source = jwtSources.get('partner');
    if (!source) throw new Error('partner');
    const send = async (app: ReturnType<typeof build>, jti: string) => {
      const headers = await source.provider.sign(
        {
          body: '{}',
          secret: JSON.stringify(keys.privateJwk),
          timestamp: Math.floor(Date.now() / 1000),
          id: jti,
        },
        source.settings,
      );
      return (await app.request('/webhooks/partner', { method: 'POST', body: '{}', headers })).status;
    };
    try {
      const app = build(`${names.prefix}:a`);
      expect(await send(app, 'jti-1')).toBe(202);
      // A used token spends a point before its claim fails, and gives it back: jti-2 still fits.
      expect(await send(app, 'jti-1')).toBe(401);
      expect(await send(app, 'jti-2')).toBe(202);
      expect(await send(app, 'jti-3')).toBe(429);
      // Another instance does not know the window is spent: it learns so when jti-3 has verified,
      // just before the token would be claimed.
      expect(await send(build(`${names.prefix}:a`), 'jti-3')).toBe(429);
      // jti-3 was refused for its rate, not claimed: once there is room (a fresh window here), it is taken.
      expect(await send(build(`${names.prefix}:b`), 'jti-3')).toBe(202);
    } finally {
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });
});

describe('ingest logs and metrics under made-up source names', () => {
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(connection, names), connection);
  afterAll(async () => {
    await producer.queue.obliterate({ force: true });
    await producer.close();
  });

  it('logs a 15,000-character unknown source as a count at most every 10 s, truncated, and never as a label', async () => {
    const { logger, lines } = captureLogs();
    let offset = 0;
    const metrics = createIngestMetrics({ sources: sources.keys(), defaultMetrics: false });
    const app = createApp({
      sources,
      producer,
      nonces: createMemoryNonceStore(),
      logger,
      metrics,
      now: () => Date.now() + offset,
      peerAddress: () => '203.0.113.7',
    });
    const name = `x${'y'.repeat(14_999)}`;
    for (let i = 0; i < 50; i += 1)
      expect((await app.request(`/webhooks/${name}`, forged())).status).toBe(404);
    expect((await app.request(`/webhooks/${name}`, { method: 'GET' })).status).toBe(405);

    const info = lines.filter((line) => JSON.parse(line).level >= 30);
    const notices = info.filter((line) => JSON.parse(line).msg === 'refused deliveries to unknown sources');
    expect(notices).toHaveLength(1);
    expect(JSON.parse(notices[0] ?? '{}')).toMatchObject({ refused: 1, client: '203.0.113.7' });
    for (const line of lines) expect(line.length).toBeLessThan(1000);

    offset = 10_000;
    expect((await app.request(`/webhooks/${name}`, forged())).status).toBe(404);
    const later = lines.filter((line) => JSON.parse(line).msg === 'refused deliveries to unknown sources');
    expect(later).toHaveLength(2);
    expect(JSON.parse(later[1] ?? '{}')).toMatchObject({ refused: 50 });

    const text = await metrics.registry.metrics();
    expect(text).not.toContain('yyyyyyyy');
    expect(text).toContain('inlet_ingest_requests_total{source="unknown",status="404"} 51');
    expect(text).toContain('inlet_ingest_requests_total{source="unknown",status="405"} 1');
  });
});

describe('ingest metrics on a port of their own', () => {
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(connection, names), connection);
  const metrics = createIngestMetrics({ sources: sources.keys(), defaultMetrics: false });
  const app = createApp({
    sources,
    producer,
    nonces: createMemoryNonceStore(),
    logger: pino({ level: 'silent' }),
    metrics,
    publicMetrics: false,
  });
  const metricsServer = createIngestServer(createMetricsApp(metrics).fetch);
  let port = 0;
  beforeAll(async () => {
    metricsServer.listen(0, '127.0.0.1');
    await once(metricsServer, 'listening');
    port = (metricsServer.address() as AddressInfo).port;
  });
  afterAll(async () => {
    metricsServer.close();
    await producer.queue.obliterate({ force: true });
    await producer.close();
  });

  it('answers 404 on the public port and Prometheus text on the metrics port', async () => {
    expect((await app.request('/webhooks/other', delivery('other'))).status).toBe(202);
    const hidden = await app.request('/metrics');
    expect(hidden.status).toBe(404);
    expect(await hidden.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });

    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await scraped.text()).toContain('inlet_ingest_requests_total{source="other",status="202"} 1');
    const elsewhere = await fetch(`http://127.0.0.1:${port}/webhooks/other`, { method: 'POST', body: '{}' });
    expect(elsewhere.status).toBe(404);
  });
});
