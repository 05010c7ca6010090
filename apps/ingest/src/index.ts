export { createApp, type IngestDeps } from './app.js';
export { type Backlog, BacklogMonitor, type BacklogMonitorOptions } from './backlog-monitor.js';
export { BodyBudget, type BodyBudgetOptions, BodyLease } from './body-budget.js';
export { ingestEnvShape, parseIngestEnv } from './env.js';
export { errorBody, IngestError, type IngestErrorCode, statusFor } from './errors.js';
export { deriveEventId } from './event-id.js';
export { FailureLimiter, type FailureLimiterOptions } from './failure-limiter.js';
export { createIngestServer, ingestServerOptions } from './ingest-server.js';
export { createIngestMetrics, type IngestMetrics } from './metrics.js';
export { createMetricsApp } from './metrics-server.js';
export {
  chunkSizeFor,
  type RateDecision,
  SourceRateLimiter,
  type SourceRateLimiterOptions,
} from './rate-limiter.js';
export { SlowBodyGuard, type SlowBodyGuardOptions } from './slow-body-guard.js';
