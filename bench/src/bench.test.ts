import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from './bench.js';
import { parseBenchOptions } from './options.js';

const positive = expect.any(Number) as unknown as number;
const numberOrNull = (value: unknown) =>
  value === null || (typeof value === 'number' && Number.isFinite(value));

describe('runBench', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // The shape of the results only: figures from a test run on a shared machine say nothing about speed.
  it('runs every group in quick mode and writes every figure to the file given', {
    timeout: 150_000,
  }, async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-bench-'));
    const outFile = path.join(dir, 'latest.json');
    const options = parseBenchOptions(['--quick', '--events', '2000', '--out', outFile], {
      REDIS_URL: process.env.REDIS_URL,
      DATABASE_URL: process.env.DATABASE_URL,
    });
    const { results, rows } = await runBench({
      ...options,
      workerVariants: [{ name: 'concurrency 300, batch 300', settings: { WORKER_CONCURRENCY: '300' } }],
    });

    const written = JSON.parse(await readFile(outFile, 'utf8')) as typeof results;
    expect(written).toEqual(results);
    expect(written).toMatchObject({ quick: true, events: 2000, groups: ['ingest', 'worker', 'e2e'] });
    expect(Date.parse(written.timestamp)).not.toBeNaN();
    expect(written.machine.cpus).toBeGreaterThan(0);
    expect(written.machine.node).toBe(process.version);

    // Every phase got answers and drained its queue, however slowly.
    for (const value of [
      written.ingest?.rps,
      written.ingest?.p50_ms,
      written.ingest?.p99_ms,
      written.reference.bare_hono_rps,
      written.reference.naive_ingest_rps,
      written.reference.naive_ingest_p99_ms,
      written.reference.bullmq_add_rps,
      written.worker?.events_per_s,
      written.reference.bullmq_noop_drain_per_s,
      written.reference.naive_worker_per_s,
      written.ratios.ingest_to_naive,
      written.ratios.ingest_to_add_ceiling,
      written.ratios.worker_to_naive,
      written.ratios.worker_to_noop,
    ]) {
      expect(value).toBeGreaterThan(0);
      expect(Number.isFinite(value)).toBe(true);
    }
    expect(written.ingest?.statuses).toEqual({ '202': positive });
    // The naive handler brackets ingest: its figure is the mean of a window before and one after.
    const [before, after] = written.reference.naive_ingest_windows_rps ?? [];
    expect([before, after]).toEqual([positive, positive]);
    expect(written.reference.naive_ingest_rps).toBe(Math.round(((before ?? 0) + (after ?? 0)) / 2));
    expect(written.worker?.variants).toEqual([
      expect.objectContaining({ name: 'concurrency 300, batch 300', events_per_s: positive }),
    ]);

    // End to end: a rate (0 when none held its lag bound on a busy machine) and the windows tried.
    for (const pair of [written.e2e, written.reference.naive_pair]) {
      expect(pair?.events_per_s).toBeGreaterThanOrEqual(0);
      expect(pair?.lag_bound_ms).toBe(1000);
      expect(numberOrNull(pair?.lag_p99_ms)).toBe(true);
      expect(pair?.trials.length).toBeGreaterThan(0);
      for (const trial of pair?.trials ?? []) {
        expect(trial).toMatchObject({
          offered_per_s: positive,
          events_per_s: positive,
          sustained: expect.any(Boolean),
        });
      }
    }
    expect(written.reference.naive_pair_events_per_s).toBe(written.reference.naive_pair?.events_per_s);
    expect(numberOrNull(written.ratios.e2e_to_naive_pair)).toBe(true);

    expect(Object.keys(written.cpu).sort()).toEqual(
      [
        'bare-hono',
        'bullmq-add',
        'bullmq-noop-drain',
        'e2e',
        'ingest',
        'naive-ingest',
        'naive-ingest-after',
        'naive-pair',
        'naive-worker',
        'worker',
        'worker-variant-1',
      ].sort(),
    );
    for (const phase of Object.values(written.cpu)) expect(phase.bound_by).toEqual(expect.any(String));
    if (process.platform === 'linux') {
      expect(written.cpu.ingest?.processes).toMatchObject({
        ingest: { cores: expect.any(Number) },
        'load generator': { cores: expect.any(Number) },
        redis: { cores: expect.any(Number) },
      });
      expect(written.cpu.e2e?.processes).toMatchObject({
        ingest: expect.any(Object),
        worker: expect.any(Object),
      });
      expect(written.ingest?.peak_rss_mb).toBeGreaterThan(0);
      expect(written.e2e?.ingest_peak_rss_mb).toBeGreaterThan(0);
      expect(written.e2e?.worker_peak_rss_mb).toBeGreaterThan(0);
      expect(written.worker?.peak_rss_mb).toBeGreaterThan(0);
      expect(written.reference.naive_worker_peak_rss_mb).toBeGreaterThan(0);
      expect(written.reference.bullmq_noop_drain_peak_rss_mb).toBeGreaterThan(0);
    }

    expect(written.targets.map((target) => target.name)).toEqual([
      'ingest >= 1x naive handler',
      'ingest p99 <= 10 ms at 50 connections',
      'worker >= 3x naive worker',
      'worker >= 0.7x bullmq no-op drain',
      'end to end >= 2x naive pair (lag p99 <= 1000 ms)',
      'ingest peak RSS < 200 MB',
    ]);
    expect(rows.map((row) => row.group)).toEqual([
      ...Array(5).fill('ingest'),
      ...Array(4).fill('worker'),
      ...Array(2).fill('e2e'),
    ]);
  });
});
