#!/usr/bin/env node
// Requests per second of ingest with and without its rate limiter, beside a naive handler (HMAC
// check + one queue.add per request), all in one run on the same Redis. Each server runs in a
// child process; this process is the load generator (50 keep-alive connections).
//
//   npm run build && node apps/ingest/scripts/throughput.mjs [--slices 12] [--slice-seconds 2]
//
// Besides requests/s it reports the server process's CPU time per request (from /proc), which a
// machine shared with other work disturbs far less than wall-clock rates.
//
// Modes: naive, ingest (no limiter), ingest+chunks (the shipped limiter, limit never reached),
// ingest+rlf (rate-limiter-flexible's RateLimiterRedis, one Redis call per request), prod (as
// main.ts runs it: its server, the shipped limiter, the backlog monitor, default metrics and one
// info log line per request, written to stdout, which is /dev/null here). --modes picks some.
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'throughput-secret';
const CONCURRENCY = 50;
const BODY = JSON.stringify({
  action: 'opened',
  data: { id: 'x', text: 'y'.repeat(1300) },
});
const SIGNATURE = `sha256=${createHmac('sha256', SECRET).update(BODY).digest('hex')}`;
const UNLIMITED = { points: 1_000_000_000, durationSeconds: 1 };

async function serve(mode, port, queueName, prefix) {
  const { serve: listen } = await import('@hono/node-server');
  const { parseSources } = await import('@inlet/config');
  const { createEventQueue, createRedis, createRedisRateLimitStore, EventProducer } = await import(
    '@inlet/queue'
  );
  const { createMemoryNonceStore } = await import('@inlet/signatures');
  const { Hono } = await import('hono');
  const { pino } = await import('pino');
  const { createApp } = await import('../dist/app.js');
  const { SourceRateLimiter } = await import('../dist/rate-limiter.js');
  const { BacklogMonitor } = await import('../dist/backlog-monitor.js');
  const { createIngestServer } = await import('../dist/ingest-server.js');

  const connection = createRedis(REDIS_URL, 'producer');
  const queue = createEventQueue(connection, { name: queueName, prefix });
  await queue.waitUntilReady();
  let fetch;
  if (mode === 'naive') {
    const app = new Hono();
    const expected = Buffer.from(SIGNATURE);
    app.post('/webhooks/:source', async (c) => {
      const body = Buffer.from(await c.req.arrayBuffer());
      const given = Buffer.from(c.req.header('x-hub-signature-256') ?? '');
      const digest = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
      if (given.length !== digest.length || !timingSafeEqual(given, digest) || !digest.equals(expected)) {
        return c.json({ error: 'invalid_signature' }, 401);
      }
      const id = c.req.header('x-github-delivery') ?? '';
      await queue.add('gh', { source: 'gh', eventId: id, body: body.toString() }, { jobId: `gh/${id}` });
      return c.json({ id }, 202);
    });
    fetch = app.fetch;
  } else {
    const sources = parseSources({ sources: { gh: { provider: 'github', secrets: [SECRET] } } });
    const producer = new EventProducer(queue, connection);
    let rateLimiter;
    if (mode === 'ingest+chunks' || mode === 'prod') {
      rateLimiter = new SourceRateLimiter({ store: createRedisRateLimitStore(connection, prefix) });
    } else if (mode === 'ingest+rlf') {
      const { RateLimiterMemory, RateLimiterRedis } = await import('rate-limiter-flexible');
      const limiter = new RateLimiterRedis({
        storeClient: connection,
        keyPrefix: `${prefix}:rlf`,
        points: UNLIMITED.points,
        duration: UNLIMITED.durationSeconds,
        inMemoryBlockOnConsumed: UNLIMITED.points,
        insuranceLimiter: new RateLimiterMemory({ points: UNLIMITED.points, duration: 1 }),
      });
      rateLimiter = {
        consume: (source) =>
          limiter.consume(source).then(
            () => ({ allowed: true }),
            (res) => ({ allowed: false, retryAfterSeconds: Math.ceil((res.msBeforeNext ?? 1000) / 1000) }),
          ),
      };
    }
    const prod = mode === 'prod';
    const backlog = prod
      ? new BacklogMonitor({ read: () => producer.backlog(), max: 1_000_000 }).start()
      : undefined;
    const app = createApp({
      sources,
      producer,
      nonces: createMemoryNonceStore(),
      logger: pino({ level: prod ? 'info' : 'warn', base: { app: 'ingest' } }),
      ...(rateLimiter ? { rateLimiter, defaultRateLimit: UNLIMITED } : {}),
      ...(backlog ? { backlog } : {}),
    });
    fetch = app.fetch;
    if (prod) {
      process.on('SIGTERM', () => process.exit(0));
      createIngestServer(fetch).listen(port, '127.0.0.1', () => process.send?.('ready'));
      return;
    }
  }
  // A clean exit, so that --cpu-prof can write its profile.
  process.on('SIGTERM', () => process.exit(0));
  listen({ fetch, port, hostname: '127.0.0.1' }, () => process.send?.('ready'));
}

function load(port, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies = [];
  const statuses = new Map();
  let sequence = 0;
  const deadline = performance.now() + seconds * 1000;
  const one = () =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      sequence += 1;
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/webhooks/gh',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(BODY),
            'x-hub-signature-256': SIGNATURE,
            'x-github-delivery': `d-${port}-${sequence}`,
            'x-github-event': 'issues',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - started);
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(BODY);
    });
  const loop = async () => {
    while (performance.now() < deadline) await one();
  };
  const started = performance.now();
  return Promise.all(Array.from({ length: CONCURRENCY }, loop)).then(() => {
    agent.destroy();
    return {
      elapsed: (performance.now() - started) / 1000,
      latencies,
      statuses: Object.fromEntries(statuses),
    };
  });
}

/** user + system CPU seconds of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One server per mode, each in a child process on a queue of its own. */
async function startServer(mode) {
  const { freePort, uniqueQueue } = await import('@inlet/testkit');
  const port = await freePort();
  const names = uniqueQueue();
  const child = spawn(
    process.execPath,
    [
      ...(process.env.THROUGHPUT_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      fileURLToPath(import.meta.url),
      'serve',
      mode,
      String(port),
      names.name,
      names.prefix,
    ],
    // stdout is where the servers' log lines go: discarded, as a log shipper would take them away.
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return {
    mode,
    port,
    names,
    child,
    requests: 0,
    seconds: 0,
    cpu: 0,
    redisCpu: 0,
    latencies: [],
    statuses: {},
  };
}

async function stopServer(server) {
  const { createEventQueue, createRedis } = await import('@inlet/queue');
  server.child.kill(process.env.THROUGHPUT_NODE_ARGS ? 'SIGTERM' : 'SIGKILL');
  await new Promise((resolve) =>
    server.child.exitCode === null ? server.child.once('exit', resolve) : resolve(),
  );
  const connection = createRedis(REDIS_URL, 'producer');
  const queue = createEventQueue(connection, server.names);
  await queue.waitUntilReady();
  await queue.obliterate({ force: true });
  const keys = await connection.keys(`${server.names.prefix}:*`);
  if (keys.length > 0) await connection.del(...keys);
  await queue.close();
  connection.disconnect();
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'serve') {
  const [mode, port, queueName, prefix] = rest;
  await serve(mode, Number(port), queueName, prefix);
} else {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      slices: { type: 'string', default: '12' },
      'slice-seconds': { type: 'string', default: '2' },
      modes: { type: 'string', default: 'naive,ingest,ingest+chunks,ingest+rlf,prod' },
    },
  });
  // All servers run at once and take turns under load in short slices, in a shuffled order each
  // round, so that whatever else the machine is doing falls on every mode alike.
  // The naive handler first: every ratio is taken against it.
  const modes = ['naive', ...values.modes.split(',').filter((mode) => mode !== 'naive')];
  const { createRedis } = await import('@inlet/queue');
  const monitor = createRedis(REDIS_URL, 'producer');
  await new Promise((resolve) => monitor.once('ready', resolve));
  // Redis is shared with whatever else runs here: its figure is indicative only.
  const redisCpu = async () => {
    const info = await monitor.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  };
  const servers = [];
  for (const mode of modes) servers.push(await startServer(mode));
  try {
    for (const server of servers) await load(server.port, 1); // warm-up
    for (let slice = 0; slice < Number(values.slices); slice += 1) {
      const order = [...servers].sort(() => Math.random() - 0.5);
      for (const server of order) {
        const before = cpuSeconds(server.child.pid);
        const redisBefore = await redisCpu();
        const result = await load(server.port, Number(values['slice-seconds']));
        server.cpu += cpuSeconds(server.child.pid) - before;
        server.redisCpu += (await redisCpu()) - redisBefore;
        server.seconds += result.elapsed;
        server.latencies.push(...result.latencies);
        for (const [status, n] of Object.entries(result.statuses)) {
          server.statuses[status] = (server.statuses[status] ?? 0) + n;
          server.requests += n;
        }
      }
      process.stdout.write('.');
    }
  } finally {
    for (const server of servers) await stopServer(server);
    monitor.disconnect();
  }
  const naive = servers[0];
  const rps = (server) => server.requests / server.seconds;
  const cpuUs = (server) => (server.cpu * 1e6) / server.requests;
  console.log(
    '\nmode            req/s   x naive   p99 ms   µs CPU/req   naive CPU / mode CPU   Redis µs/req   statuses',
  );
  for (const server of servers) {
    server.latencies.sort((a, b) => a - b);
    const p99 = server.latencies[Math.floor(server.latencies.length * 0.99)] ?? 0;
    console.log(
      [
        server.mode.padEnd(14),
        String(Math.round(rps(server))).padStart(6),
        (rps(server) / rps(naive)).toFixed(2).padStart(9),
        p99.toFixed(1).padStart(8),
        String(Math.round(cpuUs(server))).padStart(12),
        (cpuUs(naive) / cpuUs(server)).toFixed(2).padStart(22),
        String(Math.round((server.redisCpu * 1e6) / server.requests)).padStart(15),
        `   ${JSON.stringify(server.statuses)}`,
      ].join(''),
    );
  }
  process.exit(0);
}
