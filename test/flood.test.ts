import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEventQueue, createRedis } from '@inlet/queue';
import { createTestDatabase, freePort, testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, removeQueue, runNode, waitHealthy } from './support.js';

const SECRETS = { flooded: 'flooded-secret', steady: 'steady-secret' } as const;

let sequence = 0;
/** A GitHub-signed delivery of its own (unique delivery id, so each one is a new job). */
function delivery(source: keyof typeof SECRETS): RequestInit {
  sequence += 1;
  const body = JSON.stringify({ n: sequence, pad: 'p'.repeat(1300) });
  const signature = createHmac('sha256', SECRETS[source]).update(body).digest('hex');
  return {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': `sha256=${signature}`,
      'x-github-delivery': `${source}-${process.pid}-${sequence}`,
      'x-github-event': 'push',
    },
  };
}

interface Outcome {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly code: string | undefined;
  readonly ms: number;
}

async function post(url: string, init: RequestInit): Promise<Outcome> {
  const started = performance.now();
  const response = await fetch(url, init);
  const text = await response.text();
  const code =
    response.status >= 400 ? (JSON.parse(text) as { error: { code: string } }).error.code : undefined;
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code,
    ms: performance.now() - started,
  };
}

async function rssKb(running: RunningProcess): Promise<number> {
  const status = await readFile(`/proc/${running.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

const countBy = (outcomes: Outcome[]) =>
  outcomes.reduce<Record<number, number>>((counts, o) => {
    counts[o.status] = (counts[o.status] ?? 0) + 1;
    return counts;
  }, {});

/** Ingest processes on a queue of the test's own, reading `sources`. */
async function startIngests(
  count: number,
  sources: Record<string, unknown>,
  extraEnv: Record<string, string>,
): Promise<{
  env: Record<string, string>;
  urls: string[];
  processes: RunningProcess[];
  stop(): Promise<void>;
}> {
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-flood-'));
  const file = path.join(dir, 'inlet.sources.json');
  await writeFile(file, JSON.stringify({ sources }));
  const queue = uniqueQueue();
  const env = {
    REDIS_URL: testRedisUrl(),
    INLET_SOURCES: file,
    INLET_QUEUE: queue.name,
    INLET_QUEUE_PREFIX: queue.prefix,
    FLOOD_FLOODED_SECRET: SECRETS.flooded,
    FLOOD_STEADY_SECRET: SECRETS.steady,
    ...extraEnv,
  };
  const processes: RunningProcess[] = [];
  const urls: string[] = [];
  const stop = async () => {
    for (const ingest of processes) await ingest.stop();
    await removeQueue(queue);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i += 1) {
      const port = await freePort();
      const ingest = runNode('apps/ingest/dist/main.js', { ...env, PORT: String(port) });
      processes.push(ingest);
      urls.push(`http://127.0.0.1:${port}`);
      await waitHealthy(`http://127.0.0.1:${port}/readyz`, ingest);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { env, urls, processes, stop };
}

async function waitingJobs(env: Record<string, string>): Promise<number> {
  const connection = createRedis(testRedisUrl(), 'producer');
  const queue = createEventQueue(connection, {
    name: env.INLET_QUEUE ?? '',
    prefix: env.INLET_QUEUE_PREFIX ?? '',
  });
  try {
    await queue.waitUntilReady();
    return await queue.getWaitingCount();
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

describe('a flood on one source', () => {
  let stack: Awaited<ReturnType<typeof startIngests>>;
  beforeAll(async () => {
    stack = await startIngests(
      2,
      {
        flooded: {
          provider: 'github',
          secrets: ['env:FLOOD_FLOODED_SECRET'],
          rateLimit: { points: 50, durationSeconds: 600 },
        },
        steady: { provider: 'github', secrets: ['env:FLOOD_STEADY_SECRET'] },
      },
      {},
    );
  });
  afterAll(() => stack?.stop());

  it('gets 429 with Retry-After past its limit, shared by two ingest processes, while another source keeps getting 202', async () => {
    const [one, two] = stack.urls;
    if (!one || !two) throw new Error('two ingest processes');
    let remaining = 1500;
    const flooded: Outcome[] = [];
    const flood = async () => {
      for (let i = 0; remaining > 0; i += 1) {
        remaining -= 1;
        flooded.push(await post(`${i % 2 === 0 ? one : two}/webhooks/flooded`, delivery('flooded')));
      }
    };
    const steady: Outcome[] = [];
    const trickle = async () => {
      for (let i = 0; i < 60; i += 1) {
        steady.push(await post(`${i % 2 === 0 ? one : two}/webhooks/steady`, delivery('steady')));
      }
    };
    await Promise.all([...Array.from({ length: 40 }, flood), trickle()]);

    const counts = countBy(flooded);
    if (process.env.FLOOD_VERBOSE) process.stderr.write(`FLOOD rate ${JSON.stringify(counts)}\n`);
    // Redis hands out at most 50 points per window; each process may strand one unspent point of its last chunk.
    expect(counts[202], JSON.stringify(counts)).toBeLessThanOrEqual(50);
    expect(counts[202]).toBeGreaterThanOrEqual(48);
    expect((counts[202] ?? 0) + (counts[429] ?? 0)).toBe(1500);
    for (const outcome of flooded.filter((o) => o.status === 429)) {
      expect(outcome.code).toBe('rate_limited');
      expect(Number(outcome.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(outcome.retryAfter)).toBeLessThanOrEqual(600);
      expect(outcome.retryAfter).toMatch(/^\d+$/);
    }
    expect(countBy(steady)).toEqual({ 202: 60 });
    expect(await waitingJobs(stack.env)).toBe((counts[202] ?? 0) + 60);

    const metrics = await (await fetch(`${one}/metrics`)).text();
    expect(metrics).toMatch(/inlet_ingest_requests_total\{source="flooded",status="429"\} [1-9]/);
    for (const ingest of stack.processes) expect(ingest.child.exitCode).toBeNull();
  });
});

describe('an overloaded queue', () => {
  const MAX_BACKLOG = 300;
  let stack: Awaited<ReturnType<typeof startIngests>>;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let worker: RunningProcess | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startIngests(
      1,
      { steady: { provider: 'github', secrets: ['env:FLOOD_STEADY_SECRET'] } },
      { INLET_MAX_BACKLOG: String(MAX_BACKLOG), INLET_RATE_LIMIT: '{"points":1000000,"durationSeconds":1}' },
    );
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.stop();
    await db?.drop();
  });

  it('answers 503 with Retry-After while the backlog is over INLET_MAX_BACKLOG, then accepts again once a worker drains it', async () => {
    const [url] = stack.urls;
    const [ingest] = stack.processes;
    if (!url || !ingest) throw new Error('an ingest process');
    const rssBefore = await rssKb(ingest);

    // No worker: flood until ingest has refused plenty.
    const outcomes: Outcome[] = [];
    const deadline = Date.now() + 20_000;
    let refused = 0;
    const flood = async () => {
      while (refused < 1000 && Date.now() < deadline) {
        const outcome = await post(`${url}/webhooks/steady`, delivery('steady'));
        outcomes.push(outcome);
        if (outcome.status === 503) refused += 1;
      }
    };
    await Promise.all(Array.from({ length: 50 }, flood));

    const counts = countBy(outcomes);
    if (process.env.FLOOD_VERBOSE) process.stderr.write(`FLOOD backlog ${JSON.stringify(counts)}\n`);
    expect(Object.keys(counts).sort(), JSON.stringify(counts)).toEqual(['202', '503']);
    expect(refused).toBeGreaterThanOrEqual(1000);
    const unavailable = outcomes.filter((o) => o.status === 503);
    for (const outcome of unavailable) {
      expect(outcome.code).toBe('unavailable');
      expect(outcome.retryAfter).toMatch(/^[1-9]\d*$/);
    }
    // Prompt: refused before the body is read, from a cached count (a generous bound for a busy machine).
    const slowest = Math.max(...unavailable.map((o) => o.ms));
    expect(slowest).toBeLessThan(5_000);

    // Everything accepted is in the queue; the bound was overshot by at most what arrived between two reads.
    const waiting = await waitingJobs(stack.env);
    expect(waiting).toBe(counts[202]);
    expect(waiting).toBeGreaterThanOrEqual(MAX_BACKLOG);
    expect(waiting).toBeLessThan(MAX_BACKLOG + 10_000);

    const rssAfter = await rssKb(ingest);
    expect(rssAfter, `RSS ${rssBefore} kB before, ${rssAfter} kB after`).toBeLessThan(400 * 1024);
    expect(ingest.child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/inlet_ingest_backlog \d+/);

    // A worker arrives and drains the backlog; ingest notices within a refresh and accepts again.
    worker = runNode('apps/worker/dist/main.js', {
      ...stack.env,
      DATABASE_URL: db.url,
      WORKER_METRICS_PORT: String(await freePort()),
    });
    const stored = async () =>
      (await db.sql<{ n: number }[]>`select count(*)::int as n from webhook_events`)[0]?.n;
    await waitFor(async () => (await stored()) === counts[202], 45_000, 'every accepted event to be stored');
    expect(await waitingJobs(stack.env)).toBe(0);
    const accepted = await waitFor(
      async () => (await post(`${url}/webhooks/steady`, delivery('steady'))).status === 202,
      10_000,
      'a delivery to be accepted again',
    );
    expect(accepted).toBe(true);
  });
});

/**
 * A delivery that announces `bytes` of body and trickles them in 64 KiB pieces every 100 ms, the
 * way an attacker holds memory without a valid signature. Resolves with the status, or the error
 * code when the connection was cut first.
 */
function trickledDelivery(url: string, bytes: number): Promise<string> {
  const target = new URL(`${url}/webhooks/steady`);
  const piece = Buffer.alloc(64 * 1024, 'p');
  return new Promise((resolve) => {
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': String(bytes),
        'x-hub-signature-256': 'sha256=00',
        'x-github-delivery': 'trickled',
        'x-github-event': 'push',
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    let sent = 0;
    const next = () => {
      if (req.destroyed) return;
      const size = Math.min(piece.length, bytes - sent);
      req.write(piece.subarray(0, size));
      sent += size;
      if (sent < bytes) setTimeout(next, 100);
      else req.end();
    };
    next();
  });
}

describe('many large bodies at once', () => {
  let stack: Awaited<ReturnType<typeof startIngests>>;
  beforeAll(async () => {
    stack = await startIngests(
      1,
      { steady: { provider: 'github', secrets: ['env:FLOOD_STEADY_SECRET'] } },
      { INLET_RATE_LIMIT: '{"points":1000000,"durationSeconds":1}' },
    );
  });
  afterAll(() => stack?.stop());

  it('keeps ingest memory bounded: bodies past INLET_MAX_BODY_BYTES_IN_FLIGHT get 503 before they are read', async () => {
    const [url] = stack.urls;
    const [ingest] = stack.processes;
    if (!url || !ingest) throw new Error('an ingest process');
    let peakKb = await rssKb(ingest);
    const sampler = setInterval(() => {
      rssKb(ingest).then(
        (kb) => {
          peakKb = Math.max(peakKb, kb);
        },
        () => {},
      );
    }, 50);
    // 300 unsigned bodies of 1 MiB each (the default maxBodyBytes) trickled at once: held
    // together they would take ingest past 450 MB.
    const outcomes = await Promise.all(Array.from({ length: 300 }, () => trickledDelivery(url, 1024 * 1024)));
    clearInterval(sampler);

    const counts = outcomes.reduce<Record<string, number>>((acc, outcome) => {
      acc[outcome] = (acc[outcome] ?? 0) + 1;
      return acc;
    }, {});
    // The ones that fit were read and refused for their signature; the rest were refused unread
    // (a sender still writing when the 503 comes may see its connection cut instead).
    expect(counts['401'], JSON.stringify(counts)).toBeGreaterThan(0);
    expect((counts['503'] ?? 0) + (counts.EPIPE ?? 0) + (counts.ECONNRESET ?? 0)).toBeGreaterThan(200);
    expect(peakKb, `peak RSS ${peakKb} kB`).toBeLessThan(300 * 1024);
    expect(ingest.child.exitCode).toBeNull();

    // Nothing stays held: a signed delivery is accepted at once, and the gauge is back to 0.
    expect((await post(`${url}/webhooks/steady`, delivery('steady'))).status).toBe(202);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^inlet_ingest_body_bytes_in_flight 0$/m);
    expect(metrics).toMatch(/^inlet_ingest_requests_total\{source="steady",status="503"\} [1-9]/m);
    // The log says so once, not once per refusal.
    const notices = ingest.output().match(/request bodies in flight at their bound/g) ?? [];
    expect(notices.length).toBeGreaterThanOrEqual(1);
    expect(notices.length).toBeLessThanOrEqual(3);
  });
});

describe('many connections at once', () => {
  const MAX_CONNECTIONS = 20;
  let stack: Awaited<ReturnType<typeof startIngests>>;
  const held: Socket[] = [];
  beforeAll(async () => {
    stack = await startIngests(
      1,
      { steady: { provider: 'github', secrets: ['env:FLOOD_STEADY_SECRET'] } },
      { INLET_MAX_CONNECTIONS: String(MAX_CONNECTIONS) },
    );
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await stack?.stop();
  });

  /** A connection that sends part of its headers and then nothing; resolves once it is open. */
  async function idleConnection(port: number): Promise<Socket> {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(`POST /webhooks/steady HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(8000)}`);
    return socket;
  }

  it('closes connections past INLET_MAX_CONNECTIONS as they arrive, and serves again once some close', async () => {
    const [url] = stack.urls;
    const [ingest] = stack.processes;
    if (!url || !ingest) throw new Error('an ingest process');
    const port = Number(new URL(url).port);
    for (let i = 0; i < MAX_CONNECTIONS; i += 1) held.push(await idleConnection(port));

    // One more is closed at once, without an answer.
    const extra = await idleConnection(port);
    let answered = '';
    extra.on('data', (chunk: Buffer) => {
      answered += chunk.toString();
    });
    await waitFor(() => extra.destroyed || extra.readableEnded, 5000, 'the extra connection to be closed');
    expect(answered).toBe('');

    for (const socket of held.splice(0, 5)) socket.destroy();
    await waitFor(
      async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200,
      5000,
      'ingest to answer again',
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^inlet_ingest_connections_dropped_total [1-9]/m);
    expect(ingest.output()).toContain('connections at their bound');
    expect(ingest.child.exitCode).toBeNull();
  });
});
