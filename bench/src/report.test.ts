import { describe, expect, it } from 'vitest';
import { formatCpu, formatTable, formatTargets } from './report.js';
import type { PhaseCpu, TableRow } from './results.js';

const row: TableRow = {
  group: 'ingest',
  phase: 'ingest (all features)',
  perSecond: 12345.6,
  unit: 'req/s',
  p50Ms: 2.345,
  p99Ms: 8.9,
  versus: ['1.05x naive'],
  peakRss: [{ name: 'ingest', mb: 110 }],
  cpuKey: 'ingest',
};

const cpu: PhaseCpu = {
  window_s: 10,
  events: 123456,
  cores: 2,
  machine_busy_share: 0.98,
  processes: { ingest: { cpu_us_per_event: 80, cores: 0.99, share: 0.495 }, postgres: null },
  others: { cpu_us_per_event: 5, cores: 0.1, share: 0.05 },
  cpu_ceiling_per_s: 12500,
  bound_by: 'machine CPU saturated',
};

describe('report', () => {
  it('prints one aligned line per phase', () => {
    const lines = formatTable([row]).split('\n');
    expect(lines[0]).toMatch(/^phase +per second +p50 +p99 +peak RSS +compared$/);
    expect(lines[2]).toMatch(
      /^ingest ingest \(all features\) +12,346 req\/s +2\.3 ms +8\.9 ms +110 MB +1\.05x naive$/,
    );
  });

  it('prints where the CPU of each phase went and what bound it', () => {
    const text = formatCpu([row], { ingest: cpu });
    expect(text).toContain(
      'ingest (all features): ingest 80 µs 50% | postgres - | others 5% (machine 98% busy)',
    );
    expect(text).toContain('bound by machine CPU saturated');
  });

  it('says met or NOT MET for each target', () => {
    expect(
      formatTargets([
        { name: 'ingest >= 1x naive handler', value: 1.049, unit: 'x', min: 1, met: true },
        { name: 'ingest p99 <= 10 ms', value: 12.5, unit: 'ms', max: 10, met: false },
      ]),
    ).toBe(
      'target: ingest >= 1x naive handler: 1.05x (needs >= 1x) met\n' +
        'target: ingest p99 <= 10 ms: 12.5 ms (limit 10 ms) NOT MET',
    );
  });
});
