import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { IpRanges, parseSources } from '@inlet/config';
import { createEventQueue, createRedis, createRedisRateLimitStore, EventProducer } from '@inlet/queue';
import { createMemoryNonceStore } from '@inlet/signatures';
import { testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { BodyBudget } from './body-budget.js';
import { createIngestServer, type IngestServer } from './ingest-server.js';
import { createIngestMetrics } from './metrics.js';
import { SourceRateLimiter } from './rate-limiter.js';
import { SlowBodyGuard } from './slow-body-guard.js';
import { signatureHeaders } from './test-signing.js';

const MiB = 1024 * 1024;

const sources = parseSources({
  sources: {
    target: {
      provider: 'hmac',
      secrets: ['k1'],
      header: 'X-Sig',
      rateLimit: { points: 100, durationSeconds: 60 },
    },
    other: { provider: 'hmac', secrets: ['k2'], header: 'X-Sig' },
  },
});

let counter = 0;
/** A signed delivery's body and headers. */
function signed(sourceName: string, padBytes = 0): { body: string; headers: Record<string, string> } {
  counter += 1;
  const body = JSON.stringify({ n: counter, pad: 'p'.repeat(padBytes) });
  return { body, headers: signatureHeaders(sources, sourceName, body) };
}

/** One raw connection: its first status line (0 when closed without an answer). */
interface Attacker {
  readonly socket: Socket;
  readonly answered: Promise<number>;
  /** The status once answered, else undefined. */
  readonly status: () => number | undefined;
}

/**
 * Opens a connection that announces a body of `announced` bytes to `source` and sends `sent` of
 * them, then nothing more. `client` is written as X-Forwarded-For (the test's proxy is trusted).
 */
function attacker(
  port: number,
  options: { source: string; announced: number; sent: number; client?: string },
) {
  const socket = connect(port, '127.0.0.1');
  let answer = '';
  const answered = new Promise<number>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      if (status) resolve(Number(status));
    });
    socket.on('close', () => resolve(0));
    socket.on('error', () => resolve(0));
  });
  const forwarded = options.client ? `X-Forwarded-For: ${options.client}\r\n` : '';
  socket.write(
    `POST /webhooks/${options.source} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `X-Sig: sha256=00\r\n${forwarded}Content-Length: ${options.announced}\r\n\r\n`,
  );
  if (options.sent > 0) socket.write(`{"pad":"${'p'.repeat(Math.max(0, options.sent - 8))}`);
  let status: number | undefined;
  void answered.then((value) => {
    status = value;
  });
  return { socket, answered, status: () => status } satisfies Attacker;
}

/**
 * Waits until each of `bodies` (all sending `sent` bytes, then stalling) is either refused with 503
 * or held whole, and answers how many were refused.
 */
async function settle(budget: BodyBudget, bodies: readonly Attacker[], sent: number): Promise<number> {
  const refused = () => bodies.filter((a) => a.status() === 503).length;
  await waitFor(
    () => refused() > 0 && budget.heldBytes === (bodies.length - refused()) * sent,
    30_000,
    'the bodies to be refused or held',
  );
  return refused();
}

async function deliver(
  port: number,
  source: string,
  options: { client?: string; padBytes?: number } = {},
): Promise<number> {
  const { body, headers } = signed(source, options.padBytes);
  const response = await fetch(`http://127.0.0.1:${port}/webhooks/${source}`, {
    method: 'POST',
    body,
    headers: { ...headers, ...(options.client ? { 'x-forwarded-for': options.client } : {}) },
  });
  await response.arrayBuffer();
  return response.status;
}

interface Harness {
  readonly server: IngestServer;
  readonly port: number;
  readonly producer: EventProducer;
  readonly bodyBudget: BodyBudget;
  readonly guard: SlowBodyGuard;
  readonly metrics: ReturnType<typeof createIngestMetrics>;
}

/** A listening ingest with the production defences, on a queue of its own. */
async function startIngest(guardOptions: ConstructorParameters<typeof SlowBodyGuard>[0]): Promise<Harness> {
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(connection, names), connection);
  const metrics = createIngestMetrics({ sources: sources.keys(), defaultMetrics: false });
  const bodyBudget = new BodyBudget(16 * MiB, undefined, { maxBytesPerClient: 4 * MiB });
  const guard = new SlowBodyGuard({ ...guardOptions, onCut: () => metrics.slowBodyCut() }).start();
  const app = createApp({
    sources,
    producer,
    nonces: createMemoryNonceStore(),
    logger: pino({ level: 'silent' }),
    metrics,
    rateLimiter: new SourceRateLimiter({ store: createRedisRateLimitStore(connection, names.prefix) }),
    trustedProxies: IpRanges.parse(['127.0.0.1']),
    bodyBudget,
    slowBodyGuard: guard,
  });
  const server = createIngestServer(app.fetch);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  await producer.waitUntilReady();
  return { server, port: (server.address() as AddressInfo).port, producer, bodyBudget, guard, metrics };
}

async function stopIngest(harness: Harness): Promise<void> {
  harness.guard.stop();
  harness.server.closeAllConnections();
  harness.server.close();
  await harness.producer.queue.obliterate({ force: true });
  await harness.producer.close();
}

describe('ingest under a flood of connections that announce large bodies', () => {
  let harness: Harness;
  const attackers: Attacker[] = [];
  beforeAll(async () => {
    // Lenient enough that the attack lasts through the test: the guard has a test of its own below.
    harness = await startIngest({ timeoutMs: 120_000, minBytesPerSecond: 0 });
  });
  afterEach(() => {
    for (const { socket } of attackers.splice(0)) socket.destroy();
  });
  afterAll(() => stopIngest(harness));

  it('keeps accepting small signed deliveries, to the attacked source and another, while 40 idle and 30 stalled 1 MiB bodies are open', async () => {
    const { port, bodyBudget } = harness;
    // 40 connections from one address announce 1 MiB and send nothing: they hold nothing.
    for (let i = 0; i < 40; i += 1)
      attackers.push(attacker(port, { source: 'target', announced: MiB, sent: 0 }));
    // 30 more, from 30 addresses, send 900 KiB of 1 MiB quickly and then stall.
    for (let i = 0; i < 30; i += 1) {
      attackers.push(
        attacker(port, { source: 'target', announced: MiB, sent: 900 * 1024, client: `198.51.100.${i + 1}` }),
      );
    }
    // Past the large bodies' share (three quarters of 16 MiB), the rest are refused with 503.
    const refused = await settle(bodyBudget, attackers.slice(40), 900 * 1024);
    expect(refused).toBeGreaterThanOrEqual(30 - 13);
    expect(bodyBudget.heldBytes).toBeGreaterThan(10 * MiB);
    expect(bodyBudget.heldBytes).toBeLessThanOrEqual(12 * MiB);

    // Genuine small deliveries get through, from the attackers' own address and from another.
    for (const source of ['target', 'other']) {
      expect(await deliver(port, source)).toBe(202);
      expect(await deliver(port, source, { client: '192.0.2.50' })).toBe(202);
      expect(await deliver(port, source, { padBytes: 30 * 1024, client: '192.0.2.51' })).toBe(202);
    }
    // Still open, and still holding: the deliveries went through during the attack.
    expect(attackers.slice(0, 40).every((a) => !a.socket.destroyed)).toBe(true);
    expect(bodyBudget.heldBytes).toBeGreaterThan(11 * MiB);
  });

  it('caps what one address holds, while another address still delivers a large body', async () => {
    const { port, bodyBudget } = harness;
    await waitFor(() => bodyBudget.heldBytes === 0, 20_000, 'the earlier bodies to be given back');
    // Eight stalled 900 KiB bodies from one address: at most four fit in its 4 MiB share.
    const greedy = Array.from({ length: 8 }, () =>
      attacker(port, { source: 'other', announced: MiB, sent: 900 * 1024, client: '203.0.113.9' }),
    );
    attackers.push(...greedy);
    expect(await settle(bodyBudget, greedy, 900 * 1024)).toBeGreaterThanOrEqual(4);
    expect(bodyBudget.heldBytes).toBeLessThanOrEqual(4 * MiB);
    expect(await deliver(port, 'target', { client: '192.0.2.60', padBytes: 900 * 1024 })).toBe(202);
    // The share is the address's: its next body is refused whatever source it goes to.
    expect(await deliver(port, 'target', { client: '203.0.113.9', padBytes: 900 * 1024 })).toBe(503);
  });

  it('holds an IPv6 /64 to one share', async () => {
    const { port, bodyBudget } = harness;
    await waitFor(() => bodyBudget.heldBytes === 0, 20_000, 'the earlier bodies to be given back');
    const greedy = Array.from({ length: 6 }, (_, i) =>
      attacker(port, { source: 'other', announced: MiB, sent: 900 * 1024, client: `2001:db8:5:6::${i + 1}` }),
    );
    attackers.push(...greedy);
    expect(await settle(bodyBudget, greedy, 900 * 1024)).toBeGreaterThanOrEqual(2);
    expect(bodyBudget.heldBytes).toBeLessThanOrEqual(4 * MiB);
    expect(await deliver(port, 'other', { client: '2001:db8:5:6::99', padBytes: 900 * 1024 })).toBe(503);
    expect(await deliver(port, 'other', { client: '2001:db8:5:7::1', padBytes: 900 * 1024 })).toBe(202);
  });
});

describe('ingest cuts off bodies that arrive too slowly', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startIngest({
      timeoutMs: 4_000,
      minBytesPerSecond: 1024,
      windowMs: 1_000,
      intervalMs: 200,
    });
  });
  afterAll(() => stopIngest(harness));

  const cut = async () =>
    Number(
      /^inlet_ingest_slow_bodies_cut_total (\d+)$/m.exec(await harness.metrics.registry.metrics())?.[1] ??
        'NaN',
    );

  it('answers 408 to a body that stalls or trickles, closes the connection and gives its bytes back', async () => {
    const { port, bodyBudget } = harness;
    const idle = attacker(port, { source: 'target', announced: MiB, sent: 0 });
    const stalled = attacker(port, { source: 'target', announced: MiB, sent: 600 * 1024 });
    const trickling = attacker(port, { source: 'other', announced: 64 * 1024, sent: 100 });
    const drip = setInterval(() => trickling.socket.write('p'), 100);
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, bodyBudget.heldBytes);
    }, 5);
    try {
      // Answered 408 (or closed, when the answer is lost to the closing socket), well before the
      // server's 30 s request timeout.
      for (const connection of [idle, stalled, trickling]) {
        expect([408, 0]).toContain(await connection.answered);
      }
      await waitFor(() => bodyBudget.heldBytes === 0, 20_000, 'the bytes to be given back');
      await waitFor(
        () => [idle, stalled, trickling].every((a) => a.socket.closed),
        20_000,
        'the connections to close',
      );
      expect(peak).toBeGreaterThanOrEqual(600 * 1024);
      expect(await cut()).toBe(3);
    } finally {
      clearInterval(sample);
      clearInterval(drip);
      for (const connection of [idle, stalled, trickling]) connection.socket.destroy();
    }
    expect(await deliver(port, 'target')).toBe(202);
  });

  it('answers 408 to a body that keeps its rate but outlasts the body timeout', async () => {
    const { port, bodyBudget } = harness;
    const before = await cut();
    const steady = attacker(port, { source: 'other', announced: MiB, sent: 10 });
    // 2 KiB a second: above the minimum rate, far short of 1 MiB in 4 s.
    const drip = setInterval(() => steady.socket.write('p'.repeat(400)), 200);
    try {
      expect([408, 0]).toContain(await steady.answered);
      await waitFor(() => bodyBudget.heldBytes === 0, 20_000, 'the bytes to be given back');
      expect(await cut()).toBe(before + 1);
    } finally {
      clearInterval(drip);
      steady.socket.destroy();
    }
  });

  it('lets a body that arrives at a fair rate through, in pieces', async () => {
    const { port } = harness;
    const { body, headers } = signed('other', 6 * 1024);
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(
      `POST /webhooks/other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    // 2 KiB every 300 ms: above 1 KiB a second.
    for (let offset = 0; offset < body.length; offset += 2048) {
      socket.write(body.slice(offset, offset + 2048));
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await waitFor(() => answer.includes('\r\n\r\n') || socket.closed, 20_000, 'an answer');
    socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 202 /);
  });
});
