import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRedis } from '@inlet/queue';
import { exited, freePort, startRedisServer, waitFor } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from './support.js';

describe('a bad setting stops an app at start with one line naming it', () => {
  let dir: string;
  let sources: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-startup-'));
    sources = path.join(dir, 'sources.json');
    await writeFile(
      sources,
      JSON.stringify({ sources: { gh: { provider: 'github', secrets: ['env:UNSET_GH_SECRET'] } } }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const cases: Array<[string, string, Record<string, string>, RegExp]> = [
    ['ingest', 'apps/ingest/dist/main.js', { PORT: 'eighty' }, /^inlet ingest: PORT: must be a port number$/],
    [
      'ingest',
      'apps/ingest/dist/main.js',
      { REDIS_URL: 'http://x' },
      /^inlet ingest: REDIS_URL: must be a Redis URL/,
    ],
    [
      'ingest',
      'apps/ingest/dist/main.js',
      { INLET_SOURCES: '/nonexistent/sources.json' },
      /INLET_SOURCES: sources file .* does not exist/,
    ],
    [
      'ingest',
      'apps/ingest/dist/main.js',
      { INLET_RATE_LIMIT: '1000/s' },
      /^inlet ingest: INLET_RATE_LIMIT: must be JSON such as \{"points":1000,"durationSeconds":1\}$/,
    ],
    [
      'ingest',
      'apps/ingest/dist/main.js',
      { INLET_TRUSTED_PROXIES: '10.0.0.0/8,lb.internal' },
      /^inlet ingest: INLET_TRUSTED_PROXIES\[1\]: "lb\.internal" is not an IP address or CIDR range/,
    ],
    [
      'ingest',
      'apps/ingest/dist/main.js',
      { INLET_MAX_BACKLOG: '-5' },
      /^inlet ingest: INLET_MAX_BACKLOG: must be at least 1$/,
    ],
    [
      'worker',
      'apps/worker/dist/main.js',
      { WORKER_CONCURRENCY: '0' },
      /^inlet worker: WORKER_CONCURRENCY: must be a whole number/,
    ],
    [
      'worker',
      'apps/worker/dist/main.js',
      { DATABASE_URL: 'mysql://x' },
      /^inlet worker: DATABASE_URL: must be a PostgreSQL/,
    ],
    [
      'dashboard',
      'apps/dashboard/dist/main.js',
      { DASHBOARD_PASSWORD: '' },
      /^inlet dashboard: DASHBOARD_PASSWORD: is required/,
    ],
    [
      'dashboard',
      'apps/dashboard/dist/main.js',
      {
        DASHBOARD_PASSWORD: 'pw-0123456789',
        DASHBOARD_READONLY_USER: 'viewer',
        DASHBOARD_READONLY_PASSWORD: '',
      },
      /^inlet dashboard: DASHBOARD_READONLY_PASSWORD: is required when DASHBOARD_READONLY_USER is set$/,
    ],
  ];
  it.each(cases)('%s with %o', async (_app, script, env, expected) => {
    const run = runNode(script, env);
    expect(await exited(run.child)).toBe(1);
    const lines = run.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
  });

  it('stops at a literal secret when INLET_REQUIRE_ENV_SECRETS is on, naming the field and not the secret', async () => {
    const literal = path.join(dir, 'literal.json');
    await writeFile(
      literal,
      JSON.stringify({ sources: { pay: { provider: 'stripe', secrets: ['whsec_literal_in_file'] } } }),
    );
    const run = runNode('apps/ingest/dist/main.js', {
      INLET_SOURCES: literal,
      INLET_REQUIRE_ENV_SECRETS: 'true',
    });
    expect(await exited(run.child)).toBe(1);
    expect(run.output().trim()).toBe(
      `inlet ingest: ${literal}: sources.pay.secrets[0]: must be an env:NAME reference, not a literal secret (INLET_REQUIRE_ENV_SECRETS is on)`,
    );
  });

  it('names the sources file and field', async () => {
    const run = runNode('apps/ingest/dist/main.js', { INLET_SOURCES: sources });
    expect(await exited(run.child)).toBe(1);
    expect(run.output().trim()).toBe(
      `inlet ingest: ${sources}: sources.gh.secrets[0]: environment variable UNSET_GH_SECRET is not set`,
    );
  });
});

describe('a Redis that may evict queued events', () => {
  it('is named in the log of ingest and worker, as an error with the policy', async () => {
    const redis = await startRedisServer();
    const admin = createRedis(redis.url, 'worker');
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const dir = await mkdtemp(path.join(tmpdir(), 'inlet-evict-'));
    const sources = path.join(dir, 'sources.json');
    await writeFile(sources, JSON.stringify({ sources: { gh: { provider: 'github', secrets: ['s'] } } }));
    const env = {
      REDIS_URL: redis.url,
      INLET_SOURCES: sources,
      // Nothing listens here: the worker says so and waits, which is beside the point.
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/none`,
    };
    const ingest = runNode('apps/ingest/dist/main.js', { ...env, PORT: String(await freePort()) });
    const worker = runNode('apps/worker/dist/main.js', {
      ...env,
      WORKER_METRICS_PORT: String(await freePort()),
    });
    try {
      for (const app of [ingest, worker]) {
        const line = await waitFor(
          () =>
            app
              .output()
              .split('\n')
              .find((text) => text.includes('maxmemory-policy noeviction')),
          15_000,
          'the eviction warning',
        );
        expect(JSON.parse(line)).toMatchObject({ level: 50, maxmemoryPolicy: 'allkeys-lru' });
      }
    } finally {
      await ingest.stop();
      await worker.stop();
      admin.disconnect();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
