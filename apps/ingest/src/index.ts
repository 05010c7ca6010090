export { createApp, type IngestDeps } from './app.js';
export { type IngestErrorCode, IngestError, statusFor } from './errors.js';
export { deriveEventId } from './event-id.js';
export { ingestEnvShape, parseIngestEnv } from './env.js';
