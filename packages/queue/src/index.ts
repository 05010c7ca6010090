export {
  BatchConsumer,
  type BatchConsumerOptions,
  DelayJobError,
  type TakenJob,
} from './batch-consumer.js';
export { type EventJob, eventJobSchema, jobIdFor, replayJobIdFor } from './event-job.js';
export { createRedisNonceStore, type RedisNonceStore } from './nonce-store.js';
export {
  createEventQueue,
  type EnqueueOptions,
  EventProducer,
  eventJobOptions,
  type QueueNames,
  QueueUnavailableError,
} from './queue.js';
export { createRedisRateLimitStore, type RedisRateLimitStore, type WindowCount } from './rate-limit-store.js';
export {
  type CreateRedisOptions,
  createRedis,
  evictionPolicy,
  type RedisRole,
  watchEvictionPolicy,
} from './redis.js';
