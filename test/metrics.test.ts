import { randomBytes } from 'node:crypto';
import { countEvents } from '@inlet/db';
import { createEventQueue, createRedis, jobIdFor } from '@inlet/queue';
import { providers } from '@inlet/signatures';
import { freePort, testRedisUrl, waitFor } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, runNode, type Stack, startStack, waitHealthy } from './support.js';

const SECRET = 'metrics-e2e-secret';
const PASSWORD = 'metrics-e2e-dashboard-password';
/** Configured sources: `gh` gets the deliveries, `spare` none (it must still be a valid label). */
const SOURCES = ['gh', 'spare'] as const;
/** Ingest's label for every path segment that is not a configured source (apps/ingest/src/metrics.ts). */
const UNKNOWN = 'unknown';
const SIGNED = 20;
const FORGED = 3;

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses Prometheus text exposition: one sample per `name{labels} value` line, comments skipped. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match?.[1] || match[3] === undefined) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) {
      if (key === undefined || raw === undefined) continue;
      labels[key] = raw.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    samples.push({ name: match[1], labels, value: sampleValue(match[3]) });
  }
  return samples;
}

function sampleValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** The samples of `name` whose labels include `labels`. */
function select(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The value of the one sample of `name` with exactly `labels`, or undefined when there is none. */
function sampleOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}) {
  const found = select(samples, name, labels).filter(
    (sample) => Object.keys(sample.labels).length === Object.keys(labels).length,
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

function githubHeaders(body: string, id: string, secret = SECRET): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...providers.github.sign(
      { body, secret, timestamp: 0, id },
      { secrets: [secret], toleranceSeconds: 300 },
    ),
  };
}

describe('metrics of real ingest, worker and dashboard processes', () => {
  let stack: Stack;
  let dashboard: RunningProcess | undefined;
  let dashboardUrl = '';
  let workerMetricsUrl = '';
  const authorization = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
  // Random, so the test can check that no raw path segment ever becomes a label value.
  const unknownSource = `nosuch-${randomBytes(4).toString('hex')}`;

  const scrape = async (url: string, headers: Record<string, string> = {}): Promise<Sample[]> => {
    const response = await fetch(url, { headers });
    expect(response.status, url).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return parsePrometheus(await response.text());
  };
  const scrapeIngest = () => scrape(`${stack.ingestUrl}/metrics`);
  const scrapeWorker = () => scrape(workerMetricsUrl);
  const scrapeDashboard = () => scrape(`${dashboardUrl}/metrics`, { authorization });

  const deliver = (body: string, headers: Record<string, string>, source = 'gh') =>
    fetch(`${stack.ingestUrl}/webhooks/${source}`, { method: 'POST', headers, body });

  beforeAll(async () => {
    stack = await startStack({
      sources: {
        gh: { provider: 'github', secrets: ['env:E2E_GITHUB_SECRET'] },
        spare: { provider: 'github', secrets: ['env:E2E_GITHUB_SECRET'] },
      },
      extraEnv: { E2E_GITHUB_SECRET: SECRET },
    });
    workerMetricsUrl = `http://127.0.0.1:${stack.env.WORKER_METRICS_PORT}/metrics`;
    const port = await freePort();
    dashboardUrl = `http://127.0.0.1:${port}`;
    dashboard = runNode('apps/dashboard/dist/main.js', {
      ...stack.env,
      DASHBOARD_PORT: String(port),
      DASHBOARD_PASSWORD: PASSWORD,
      INLET_INGEST_METRICS_URL: `${stack.ingestUrl}/metrics`,
    });
    await waitHealthy(`${dashboardUrl}/readyz`, dashboard, 20_000, { authorization });
  });

  afterAll(async () => {
    await dashboard?.stop();
    await stack?.stop();
  });

  it('counts deliveries, refusals, enqueues and stored events exactly, with bounded labels', async () => {
    const bodies = Array.from({ length: SIGNED }, (_, i) => `{"n":${i}}`);
    for (const [i, body] of bodies.entries()) {
      expect((await deliver(body, githubHeaders(body, `metrics-${i}`))).status).toBe(202);
    }
    // The same delivery again: the same 202, deduplicated by its job id while the job is kept.
    expect((await deliver(bodies[0] ?? '', githubHeaders(bodies[0] ?? '', 'metrics-0'))).status).toBe(202);
    for (let i = 0; i < FORGED; i += 1) {
      const body = `{"forged":${i}}`;
      const response = await deliver(body, githubHeaders(body, `forged-${i}`, 'not-the-secret'));
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_signature' } });
    }
    const stray = await deliver('{}', githubHeaders('{}', 'stray-1'), unknownSource);
    expect(stray.status).toBe(404);

    await waitFor(async () => (await countEvents(stack.db.sql, 'gh')) === SIGNED, 20_000, 'the stored rows');
    // The worker counts an event once its job's batch has committed and the job has completed.
    const worker = await waitFor(
      async () => {
        const samples = await scrapeWorker();
        const done =
          sampleOf(samples, 'inlet_worker_events_total', { source: 'gh', outcome: 'stored' }) === SIGNED &&
          sampleOf(samples, 'inlet_queue_depth', { state: 'completed' }) === SIGNED;
        return done ? samples : undefined;
      },
      20_000,
      'the worker to count every stored event',
    );

    const ingest = await scrapeIngest();
    expect(select(ingest, 'inlet_ingest_requests_total')).toHaveLength(3);
    expect(sampleOf(ingest, 'inlet_ingest_requests_total', { source: 'gh', status: '202' })).toBe(SIGNED + 1);
    expect(sampleOf(ingest, 'inlet_ingest_requests_total', { source: 'gh', status: '401' })).toBe(FORGED);
    expect(sampleOf(ingest, 'inlet_ingest_requests_total', { source: UNKNOWN, status: '404' })).toBe(1);
    expect(select(ingest, 'inlet_signature_failures_total')).toHaveLength(1);
    expect(
      sampleOf(ingest, 'inlet_signature_failures_total', { source: 'gh', reason: 'invalid_signature' }),
    ).toBe(FORGED);
    // Observed for every enqueue that returned, the duplicate included (BullMQ's no-op resolves too).
    expect(sampleOf(ingest, 'inlet_enqueue_duration_seconds_count')).toBe(SIGNED + 1);
    expect(sampleOf(ingest, 'inlet_enqueue_duration_seconds_bucket', { le: '+Inf' })).toBe(SIGNED + 1);
    expect(sampleOf(ingest, 'inlet_enqueue_duration_seconds_sum')).toBeGreaterThan(0);

    // The duplicate never reached the worker: Redis kept the job and dropped the second add.
    expect(select(worker, 'inlet_worker_events_total', { outcome: 'duplicate' })).toEqual([]);
    expect(select(worker, 'inlet_worker_events_total', { outcome: 'failed' })).toEqual([]);
    expect(sampleOf(worker, 'inlet_event_lag_seconds_count', { source: 'gh' })).toBe(SIGNED);
    expect(sampleOf(worker, 'inlet_event_lag_seconds_bucket', { source: 'gh', le: '+Inf' })).toBe(SIGNED);
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized']) {
      expect(sampleOf(worker, 'inlet_queue_depth', { state }), state).toBeTypeOf('number');
    }
    expect(sampleOf(worker, 'inlet_queue_depth', { state: 'failed' })).toBe(0);
    expect(sampleOf(worker, 'inlet_queue_depth', { state: 'waiting' })).toBe(0);
    // Everything stored and nothing in flight: no bytes are held on either side.
    expect(sampleOf(worker, 'inlet_worker_job_bytes_in_flight')).toBe(0);
    expect(sampleOf(ingest, 'inlet_ingest_body_bytes_in_flight')).toBe(0);
    const retries = sampleOf(worker, 'inlet_db_transaction_retries_total');
    expect(retries).toBeTypeOf('number');
    expect(retries).toBeGreaterThanOrEqual(0);

    for (const sample of [...ingest, ...worker]) {
      const source = sample.labels.source;
      if (source !== undefined) expect([...SOURCES, UNKNOWN], sample.name).toContain(source);
    }
  });

  it('counts a duplicate the database caught under outcome="duplicate", and stores nothing twice', async () => {
    // Once the completed job is gone (its retention ran out), only the unique constraint can tell.
    const connection = createRedis(testRedisUrl(), 'producer');
    const queue = createEventQueue(connection, {
      name: stack.env.INLET_QUEUE ?? '',
      prefix: stack.env.INLET_QUEUE_PREFIX ?? '',
    });
    try {
      expect(await queue.remove(jobIdFor('gh', 'metrics-0'))).toBe(1);
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect((await deliver('{"n":0}', githubHeaders('{"n":0}', 'metrics-0'))).status).toBe(202);

    const worker = await waitFor(
      async () => {
        const samples = await scrapeWorker();
        const counted = sampleOf(samples, 'inlet_worker_events_total', {
          source: 'gh',
          outcome: 'duplicate',
        });
        return counted === 1 ? samples : undefined;
      },
      20_000,
      'the worker to count the duplicate',
    );
    expect(sampleOf(worker, 'inlet_worker_events_total', { source: 'gh', outcome: 'stored' })).toBe(SIGNED);
    // Lag is observed for events stored now, not for duplicates.
    expect(sampleOf(worker, 'inlet_event_lag_seconds_count', { source: 'gh' })).toBe(SIGNED);
    expect(await countEvents(stack.db.sql, 'gh')).toBe(SIGNED);

    const ingest = await scrapeIngest();
    expect(sampleOf(ingest, 'inlet_ingest_requests_total', { source: 'gh', status: '202' })).toBe(SIGNED + 2);
    expect(sampleOf(ingest, 'inlet_enqueue_duration_seconds_count')).toBe(SIGNED + 2);
  });

  it('counts dashboard requests by route pattern, never by raw path', async () => {
    const list = `${dashboardUrl}/api/events?source=gh&limit=100`;
    const first = await fetch(list, { headers: { authorization } });
    expect(first.status).toBe(200);
    const { events } = (await first.json()) as { events: { id: string }[] };
    expect(events).toHaveLength(SIGNED);
    expect((await fetch(list, { headers: { authorization } })).status).toBe(200);
    expect((await fetch(list)).status).toBe(401);
    const id = events[0]?.id ?? '';
    expect((await fetch(`${dashboardUrl}/api/events/${id}`, { headers: { authorization } })).status).toBe(
      200,
    );

    const response = await fetch(`${dashboardUrl}/metrics`, { headers: { authorization } });
    const text = await response.text();
    const samples = parsePrometheus(text);
    expect(sampleOf(samples, 'inlet_dashboard_requests_total', { route: '/api/events', status: '200' })).toBe(
      2,
    );
    expect(sampleOf(samples, 'inlet_dashboard_requests_total', { route: '/api/events', status: '401' })).toBe(
      1,
    );
    expect(
      sampleOf(samples, 'inlet_dashboard_requests_total', { route: '/api/events/:id', status: '200' }),
    ).toBe(1);
    expect(
      sampleOf(samples, 'inlet_dashboard_requests_total', { route: '/readyz', status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(id);
  });

  it('serves Node’s default metrics from all three, and no raw path anywhere', async () => {
    const texts: string[] = [];
    for (const [app, read] of [
      ['ingest', scrapeIngest],
      ['worker', scrapeWorker],
      ['dashboard', scrapeDashboard],
    ] as const) {
      const samples = await read();
      for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']) {
        const value = sampleOf(samples, name);
        expect(value, `${app} ${name}`).toBeTypeOf('number');
        expect(value, `${app} ${name}`).toBeGreaterThan(0);
      }
      texts.push(JSON.stringify(samples));
    }
    for (const text of texts) expect(text).not.toContain(unknownSource);
  });
});
