export {
  BatchWriter,
  type BatchWriterOptions,
  DatabaseUnavailableError,
  HandlerError,
  HandlerTimeoutError,
  type WriteOutcome,
} from './batch-writer.js';
export { parseWorkerEnv, workerEnvShape } from './env.js';
export { type Handler, type HandlerEvent, HandlerLoadError, loadHandlers } from './handlers.js';
export { workerNodeFlags } from './node-flags.js';
export { parseEventJob } from './store-event.js';
export { createEventWorker, type EventWorkerOptions, type EventWorkerStats } from './worker.js';
