import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { parseSources } from '@inlet/config';
import { createEventQueue, createRedis, type EventJob, EventProducer, jobIdFor } from '@inlet/queue';
import { createMemoryNonceStore, generateJwtKeyPair } from '@inlet/signatures';
import { startRedisServer, testRedisUrl, uniqueQueue } from '@inlet/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { createIngestMetrics } from './metrics.js';

const logger = pino({ level: 'silent' });
const partnerKeys = generateJwtKeyPair('ES256');
const GITHUB_SECRET = "It's a Secret to Everybody";
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SW_TIMESTAMP = 1614265330;

const sources = parseSources(
  {
    sources: {
      github: { provider: 'github', secrets: ['env:TEST_GITHUB_SECRET'] },
      acme: { provider: 'standard-webhooks', secrets: ['whsec_b2xkIHNlY3JldCBvbGQgc2VjcmV0', SW_SECRET] },
      stripe: { provider: 'stripe', secrets: ['whsec_test'] },
      custom: {
        provider: 'hmac',
        secrets: ['s3cret'],
        header: 'X-Signature',
        prefix: 'sha256=',
        maxBodyBytes: 64,
      },
      keyed: { provider: 'hmac', secrets: ['k'], header: 'X-Sig', idempotency: { jsonPointer: '/data/id' } },
    },
  },
  { env: { TEST_GITHUB_SECRET: GITHUB_SECRET } },
);

function signed(
  sourceName: string,
  body: string,
  options: { timestamp?: number; id?: string; secret?: string } = {},
) {
  const source = sources.get(sourceName);
  if (!source) throw new Error(`no source ${sourceName}`);
  const headers = source.provider.sign(
    {
      body,
      secret: options.secret ?? source.settings.secrets[0] ?? '',
      timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
      id: options.id ?? 'delivery-1',
    },
    source.settings,
  );
  if (headers instanceof Promise) throw new Error('these tests use synchronous signers');
  return headers;
}

describe('ingest with real Redis', () => {
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const queue = createEventQueue(connection, names);
  const producer = new EventProducer(queue, connection);
  let clock = Date.now();
  const app = createApp({ sources, producer, nonces: createMemoryNonceStore(), logger, now: () => clock });

  const post = (source: string, body: string, headers: Record<string, string>) =>
    app.request(`/webhooks/${source}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const jobCount = async () =>
    (await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed')).waiting ?? 0;

  beforeAll(async () => {
    await producer.waitUntilReady();
  });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await producer.close();
  });

  it('accepts the GitHub docs example and queues the raw body byte-exact', async () => {
    clock = Date.now();
    const body = 'Hello, World!';
    const response = await post('github', body, {
      'X-Hub-Signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'X-GitHub-Event': 'push',
      Authorization: 'Bearer must-not-be-stored',
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: '72d3162e-cc78-11e3-81ab-4c9367dc0958' });
    const job = await queue.getJob(jobIdFor('github', '72d3162e-cc78-11e3-81ab-4c9367dc0958'));
    const data = job?.data as EventJob;
    expect(data.body).toBe(body);
    expect(data.eventType).toBe('push');
    expect(data.receivedAt).toBe(clock);
    expect(data.headers['x-github-event']).toBe('push');
    expect(data.headers.authorization).toBeUndefined();
    expect(data.headers['x-hub-signature-256']).toBeUndefined();
  });

  it('accepts the official Standard Webhooks vector with the second of two secrets', async () => {
    clock = SW_TIMESTAMP * 1000 + 10_000;
    const response = await post('acme', '{"test": 2432232314}', {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': String(SW_TIMESTAMP),
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: 'msg_p5jXN8AQM9LWM0D4loKWxJek' });
  });

  describe('refusals enqueue nothing', () => {
    const body = '{"id":"evt_1","type":"invoice.paid"}';
    const cases: Array<[string, () => Response | Promise<Response>, number, string]> = [
      ['tampered body', () => post('stripe', `${body} `, signed('stripe', body)), 401, 'invalid_signature'],
      [
        'wrong secret',
        () => post('stripe', body, signed('stripe', body, { secret: 'whsec_wrong' })),
        401,
        'invalid_signature',
      ],
      [
        'stale timestamp',
        () => post('stripe', body, signed('stripe', body, { timestamp: Math.floor(clock / 1000) - 301 })),
        401,
        'timestamp_out_of_tolerance',
      ],
      [
        'future timestamp',
        () => post('stripe', body, signed('stripe', body, { timestamp: Math.floor(clock / 1000) + 301 })),
        401,
        'timestamp_out_of_tolerance',
      ],
      ['missing signature header', () => post('stripe', body, {}), 401, 'missing_signature'],
      [
        'malformed signature header',
        () => post('stripe', body, { 'Stripe-Signature': 't=abc,v1=zz' }),
        401,
        'invalid_signature',
      ],
      ['unknown source', () => post('nope', body, {}), 404, 'unknown_source'],
      ['GET on a source', () => app.request('/webhooks/stripe'), 405, 'method_not_allowed'],
      [
        'oversize body',
        () => post('custom', 'x'.repeat(65), signed('custom', 'x'.repeat(65))),
        413,
        'payload_too_large',
      ],
      [
        'binary media type',
        () =>
          app.request('/webhooks/stripe', {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/octet-stream' },
          }),
        415,
        'unsupported_media_type',
      ],
      [
        'idempotency pointer missing',
        () => post('keyed', '{"data":{}}', signed('keyed', '{"data":{}}')),
        400,
        'invalid_payload',
      ],
      [
        'idempotency pointer into JSON nested too deep',
        () => {
          const deep = `{"data":{"id":"x","deep":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
          return post('keyed', deep, signed('keyed', deep));
        },
        400,
        'invalid_payload',
      ],
    ];
    it.each(cases)('%s', async (_name, send, status, code) => {
      clock = Date.now();
      const before = await jobCount();
      const response = await send();
      expect(response.status).toBe(status);
      const payload = (await response.json()) as { error: { code: string; message: string } };
      expect(payload.error.code).toBe(code);
      expect(payload.error.message.length).toBeGreaterThan(0);
      expect(JSON.stringify(payload)).not.toContain('whsec_test');
      expect(await jobCount()).toBe(before);
    });
  });

  it('answers 405 with an Allow header to every method but POST, and 404 off the delivery path', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
      const response = await app.request('/webhooks/stripe', { method });
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow'), method).toBe('POST');
    }
    expect((await app.request('/webhooks/stripe/extra', { method: 'POST' })).status).toBe(404);
    expect((await app.request('/webhooks/', { method: 'POST' })).status).toBe(404);
  });

  it('names every answer with X-Request-Id, keeping a sane one sent by the caller', async () => {
    clock = Date.now();
    const body = '{"id":"evt_request_id","type":"charge.succeeded"}';
    const accepted = await post('stripe', body, { ...signed('stripe', body), 'X-Request-Id': 'trace-42' });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('x-request-id')).toBe('trace-42');
    expect(accepted.headers.get('content-type')).toBe('application/json');
    const fresh = await post('stripe', body, signed('stripe', body));
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await post('stripe', body, { ...signed('stripe', body), 'X-Request-Id': 'a b<c>' });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await post('stripe', body, { 'X-Request-Id': 'trace-43' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toBe('trace-43');
    for (const path of ['/healthz', '/readyz', '/metrics', '/nowhere']) {
      const response = await app.request(path, { headers: { 'X-Request-Id': 'trace-44' } });
      expect(response.headers.get('x-request-id'), path).toBe('trace-44');
    }
    const wrongMethod = await app.request('/webhooks/stripe', { headers: { 'X-Request-Id': 'trace-45' } });
    expect(wrongMethod.headers.get('x-request-id')).toBe('trace-45');
  });

  it('refuses a body that is not UTF-8', async () => {
    clock = Date.now();
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const response = await app.request('/webhooks/custom', {
      method: 'POST',
      body: bytes,
      headers: { 'x-signature': 'sha256=00' },
    });
    expect(response.status).toBe(400);
  });

  it('takes the event id from the configured JSON pointer', async () => {
    clock = Date.now();
    const body = '{"data":{"id":"order-77"}}';
    const response = await post('keyed', body, signed('keyed', body));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id: 'order-77' });
  });

  it('falls back to the SHA-256 of the body', async () => {
    clock = Date.now();
    const body = '{"hello":"world"}';
    const response = await post('custom', body, signed('custom', body));
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(id).toBe('sha256:93a23971a914e5eacbf0a8d25154cda309c3c1c72fbb9914d47c60f3cb681588');
    expect(await queue.getJob(jobIdFor('custom', id))).toBeDefined();
  });

  it('keeps one job for the same delivery sent 20 times, some at once', async () => {
    clock = Date.now();
    const body = '{"id":"evt_dup","type":"charge.succeeded"}';
    const send = async () => {
      const response = await post('stripe', body, signed('stripe', body));
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ id: 'evt_dup' });
    };
    const before = await jobCount();
    await Promise.all(Array.from({ length: 10 }, send));
    for (let i = 0; i < 10; i += 1) await send();
    expect(await jobCount()).toBe(before + 1);
  });

  it('reports health and readiness', async () => {
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/readyz')).status).toBe(200);
    const missing = await app.request('/nowhere');
    expect(missing.status).toBe(404);
  });
});

describe('ingest over a real socket', () => {
  it('answers 413 from Content-Length before the body arrives', async () => {
    const connection = createRedis(testRedisUrl(), 'producer');
    const names = uniqueQueue();
    const producer = new EventProducer(createEventQueue(connection, names), connection);
    const app = createApp({ sources, producer, nonces: createMemoryNonceStore(), logger });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/webhooks/stripe',
          headers: { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        });
        req.on('error', reject);
        // Send a sliver of the announced 50 MB and never the rest.
        req.write('{"id":"evt_big"');
      });
      expect(status).toBe(413);
    } finally {
      server.close();
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });
});

describe('ingest reading a chunked body (no Content-Length)', () => {
  it('accepts one within maxBodyBytes and answers 413 past it', async () => {
    const connection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(connection, uniqueQueue()), connection);
    const app = createApp({ sources, producer, nonces: createMemoryNonceStore(), logger });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const send = (chunks: string[], headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/webhooks/custom',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });
    try {
      await producer.waitUntilReady();
      const small = '{"chunked":true}';
      expect(await send([small.slice(0, 5), small.slice(5)], signed('custom', small))).toBe(202);
      const big = 'x'.repeat(40);
      expect(await send([big, big], signed('custom', big + big))).toBe(413);
    } finally {
      server.close();
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });
});

describe('ingest while Redis is away', () => {
  it('answers 503 with Retry-After fast, then 202 once Redis is back', async () => {
    const redis = await startRedisServer();
    const connection = createRedis(redis.url, 'producer');
    const producer = new EventProducer(createEventQueue(connection, uniqueQueue()), connection);
    const app = createApp({ sources, producer, nonces: createMemoryNonceStore(), logger });
    const body = '{"id":"evt_outage","type":"invoice.paid"}';
    const send = () =>
      app.request('/webhooks/stripe', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...signed('stripe', body) },
      });
    try {
      await producer.waitUntilReady();
      expect((await send()).status).toBe(202);

      await redis.kill();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const response = await send();
      const elapsed = performance.now() - started;
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      expect(elapsed).toBeLessThan(1000);
      expect((await app.request('/readyz')).status).toBe(503);

      await redis.start();
      const back = await (async () => {
        for (let i = 0; i < 100; i += 1) {
          const again = await send();
          if (again.status === 202) return again;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return send();
      })();
      expect(back.status).toBe(202);
    } finally {
      await producer.close();
      await redis.stop();
    }
  });
});

describe('ingest when a verifier cannot reach what it needs', () => {
  it('answers 503 with Retry-After, not 401, when the JWKS or the used-token store is away', async () => {
    const jwtSources = parseSources({
      sources: {
        partner: {
          provider: 'jwt',
          // Nothing listens on port 9 of this host: the key set cannot be fetched.
          jwksUrl: 'http://127.0.0.1:9/jwks.json',
          jwksTimeoutMs: 500,
          issuer: 'https://issuer.example/',
          audience: 'https://hooks.example/webhooks/partner',
        },
        keyed: {
          provider: 'jwt',
          publicKeys: [(await partnerKeys).publicJwk],
          issuer: 'https://issuer.example/',
          audience: 'https://hooks.example/webhooks/partner',
          requireJti: true,
        },
      },
    });
    const connection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(connection, uniqueQueue()), connection);
    const brokenStore = { claim: async () => Promise.reject(new Error('Connection is closed.')) };
    const app = createApp({ sources: jwtSources, producer, nonces: brokenStore, logger });
    try {
      for (const name of ['partner', 'keyed']) {
        const source = jwtSources.get(name);
        if (!source) throw new Error(name);
        const headers = await source.provider.sign(
          {
            body: '{}',
            secret: JSON.stringify((await partnerKeys).privateJwk),
            timestamp: Math.floor(Date.now() / 1000),
            id: 'jti-1',
          },
          source.settings,
        );
        const response = await app.request(`/webhooks/${name}`, { method: 'POST', body: '{}', headers });
        expect(response.status, `${name}: ${await response.clone().text()}`).toBe(503);
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      }
    } finally {
      await producer.close();
    }
  });
});

describe('ingest metrics', () => {
  it('counts requests by source and status, signature failures by reason, and enqueue time', async () => {
    const connection = createRedis(testRedisUrl(), 'producer');
    const producer = new EventProducer(createEventQueue(connection, uniqueQueue()), connection);
    const app = createApp({
      sources,
      producer,
      nonces: createMemoryNonceStore(),
      logger,
      metrics: createIngestMetrics({ sources: sources.keys(), defaultMetrics: false }),
    });
    try {
      await producer.waitUntilReady();
      const body = '{"id":"evt_metrics","type":"invoice.paid"}';
      const post = (headers: Record<string, string>, source = 'stripe') =>
        app.request(`/webhooks/${source}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...headers },
        });
      expect((await post(signed('stripe', body))).status).toBe(202);
      expect((await post(signed('stripe', body, { secret: 'whsec_wrong' }))).status).toBe(401);
      expect((await post({})).status).toBe(401);
      expect((await post({}, 'no-such-source-123')).status).toBe(404);
      expect((await app.request('/webhooks/stripe', { method: 'GET' })).status).toBe(405);
      const response = await app.request('/metrics');
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('inlet_ingest_requests_total{source="stripe",status="202"} 1');
      expect(text).toContain('inlet_ingest_requests_total{source="stripe",status="401"} 2');
      // An unknown path segment never becomes a label.
      expect(text).toContain('inlet_ingest_requests_total{source="unknown",status="404"} 1');
      expect(text).toContain('inlet_ingest_requests_total{source="stripe",status="405"} 1');
      expect(text).not.toContain('no-such-source-123');
      expect(text).toContain('inlet_signature_failures_total{source="stripe",reason="invalid_signature"} 1');
      expect(text).toContain('inlet_signature_failures_total{source="stripe",reason="missing_signature"} 1');
      expect(text).toMatch(/inlet_enqueue_duration_seconds_count 1\b/);
    } finally {
      await producer.queue.obliterate({ force: true });
      await producer.close();
    }
  });
});
