export { createApp, type IngestDeps } from './app.js';
export { type Backlog, BacklogMonitor, type BacklogMonitorOptions } from './backlog-monitor.js';
export { BodyBudget, BodyLease } from './body-budget.js';
export { resolveClientAddress } from './client-address.js';
export { ingestEnvShape, parseIngestEnv } from './env.js';
export { errorBody, IngestError, type IngestErrorCode, statusFor } from './errors.js';
export { deriveEventId } from './event-id.js';
export { createIngestServer, ingestServerOptions } from './ingest-server.js';
export { createIngestMetrics, type IngestMetrics } from './metrics.js';
export {
  chunkSizeFor,
  type RateDecision,
  SourceRateLimiter,
  type SourceRateLimiterOptions,
} from './rate-limiter.js';
