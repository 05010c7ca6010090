export { createApp, type IngestDeps } from './app.js';
export { ingestEnvShape, parseIngestEnv } from './env.js';
export { IngestError, type IngestErrorCode, statusFor } from './errors.js';
export { deriveEventId } from './event-id.js';
export { createIngestMetrics, type IngestMetrics } from './metrics.js';
