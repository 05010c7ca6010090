import { Hono } from 'hono';
import { IngestError, statusFor } from './errors.js';
import type { IngestMetrics } from './metrics.js';

/**
 * The app for INLET_METRICS_PORT: `GET /metrics` and nothing else, so that the public port need
 * not list the source names that label the metrics.
 */
export function createMetricsApp(metrics: IngestMetrics): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
  );
  app.notFound((c) => {
    const error = new IngestError('not_found', 'There is nothing at this path.');
    return c.json({ error: { code: error.code, message: error.message } }, statusFor(error.code));
  });
  return app;
}
