import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The dashboard's Prometheus metrics. The `route` label is a registered route pattern (or
 * `unmatched`), never a raw path, so it stays bounded whatever is requested.
 */
export function createDashboardMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'inlet_dashboard_requests_total',
    help: 'Dashboard requests answered, by route pattern and HTTP status.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  return {
    registry,
    request(route: string, status: number) {
      requests.inc({ route, status: String(status) });
    },
  };
}

export type DashboardMetrics = ReturnType<typeof createDashboardMetrics>;
