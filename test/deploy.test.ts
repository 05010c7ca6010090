import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './support.js';

/** Metric names the apps register, read from their sources. */
async function definedMetrics(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const file of [
    'apps/ingest/src/metrics.ts',
    'apps/worker/src/metrics.ts',
    'apps/dashboard/src/metrics.ts',
  ]) {
    const text = await readFile(path.join(repoRoot, file), 'utf8');
    for (const [, name] of text.matchAll(/name: '(inlet_[a-z_]+)'/g)) if (name) names.add(name);
  }
  return names;
}

/** The inlet_* metrics an expression uses, histogram series mapped to their metric. */
function usedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\binlet_[a-z_]+/g)].map(([name]) => name.replace(/_(bucket|sum|count)$/, ''));
}

describe('deploy/: alert rules and dashboard', async () => {
  const defined = await definedMetrics();
  const alerts = parse(await readFile(path.join(repoRoot, 'deploy/prometheus/inlet-alerts.yml'), 'utf8')) as {
    groups: { name: string; rules: { alert: string; expr: string; annotations: { summary: string } }[] }[];
  };
  const dashboard = JSON.parse(
    await readFile(path.join(repoRoot, 'deploy/grafana/inlet-dashboard.json'), 'utf8'),
  ) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };

  it('finds the apps’ metrics', () => {
    for (const name of [
      'inlet_ingest_requests_total',
      'inlet_signature_failures_total',
      'inlet_enqueue_duration_seconds',
      'inlet_worker_events_total',
      'inlet_db_transaction_retries_total',
      'inlet_event_lag_seconds',
      'inlet_queue_depth',
      'inlet_dashboard_requests_total',
      'inlet_ingest_connections_dropped_total',
      'inlet_ingest_body_bytes_in_flight',
      'inlet_worker_job_bytes_in_flight',
    ]) {
      expect(defined.has(name), name).toBe(true);
    }
  });

  it('alerts on ingest 5xx, dropped connections, signature failure spikes, queue depth and growth, lag p99 and failed jobs', () => {
    const rules = alerts.groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.alert).sort()).toEqual(
      [
        'InletEventLagP99High',
        'InletFailedJobs',
        'InletIngest5xxRate',
        'InletIngestDroppingConnections',
        'InletQueueDepthHigh',
        'InletQueueGrowing',
        'InletSignatureFailureSpike',
      ].sort(),
    );
    for (const rule of rules) {
      expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(0);
      const used = usedMetrics(rule.expr);
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const name of used) expect(defined.has(name), `${rule.alert} uses ${name}`).toBe(true);
    }
  });

  it('charts only metrics the apps export', () => {
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const name of usedMetrics(target.expr))
          expect(defined.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
  });
});
