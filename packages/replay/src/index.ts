export { parseTime } from './parse-time.js';
export { ReplayError, type ReplayErrorCode } from './replay-error.js';
export {
  eventJobFromRow,
  type ReplayDeps,
  type ReplayedEvent,
  type ReplayRangeOptions,
  replayEvent,
  replayEvents,
} from './replay-event.js';
export { type RetryFailedOptions, type RetryFailedProgress, retryFailed } from './retry-failed.js';
