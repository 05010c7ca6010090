export { parseWorkerEnv, workerEnvShape } from './env.js';
export { parseEventJob, type StoreOptions, storeEvent } from './store-event.js';
export { createEventWorker, type EventWorkerOptions, type EventWorkerStats } from './worker.js';
