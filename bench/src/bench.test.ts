import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBench } from './bench.js';
import { parseBenchOptions } from './options.js';

const positive = expect.any(Number) as unknown as number;

describe('runBench', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // The shape of the results only: figures from a test run say nothing about speed.
  it('drains the queue in every phase and writes every figure to the file given', async () => {
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
    expect(written).toMatchObject({ quick: true, events: 2000 });
    expect(Date.parse(written.timestamp)).not.toBeNaN();
    expect(written.machine.cpus).toBeGreaterThan(0);
    expect(written.machine.node).toBe(process.version);
    for (const value of [
      written.worker?.events_per_s,
      written.reference.bullmq_noop_drain_per_s,
      written.reference.naive_worker_per_s,
      written.ratios.worker_to_naive,
      written.ratios.worker_to_noop,
    ]) {
      expect(value).toBeGreaterThan(0);
      expect(Number.isFinite(value)).toBe(true);
    }
    expect(written.worker?.variants).toEqual([
      expect.objectContaining({ name: 'concurrency 300, batch 300', events_per_s: positive }),
    ]);
    if (process.platform === 'linux') {
      expect(written.worker?.peak_rss_mb).toBeGreaterThan(0);
      expect(written.reference.naive_worker_peak_rss_mb).toBeGreaterThan(0);
      expect(written.reference.bullmq_noop_drain_peak_rss_mb).toBeGreaterThan(0);
    }
    expect(written.targets.map((target) => target.name)).toEqual([
      'worker >= 3x naive worker',
      'worker >= 0.7x bullmq no-op drain',
    ]);
    expect(rows).toHaveLength(4);
  });
});
