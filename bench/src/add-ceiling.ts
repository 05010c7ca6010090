import {
  createEventQueue,
  createRedis,
  type EventJob,
  eventJobOptions,
  jobIdFor,
  type QueueNames,
} from '@inlet/queue';
import { BENCH_SOURCE, bodyTemplate } from './event-fixtures.js';

export interface AddCeilingOptions {
  readonly redisUrl: string;
  readonly names: QueueNames;
  readonly runId: string;
  /** Adds awaited at once, like the requests of 50 connections. */
  readonly inFlight: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly signal?: AbortSignal;
  /** Called right before and right after the measured loop (not the warm-up): the CPU meter's window. */
  readonly onMeasureStart?: () => Promise<void>;
  readonly onMeasureEnd?: (result: AddCeilingResult) => Promise<void>;
}

export interface AddCeilingResult {
  adds: number;
  seconds: number;
  perSecond: number;
}

/**
 * `reference.bullmq_add_rps`: BullMQ `queue.add` in a loop, `inFlight` at a time, in the bench's own
 * process, with ingest's job options and job ids and a 1.4 KB event: the most adds one producer
 * process gets from this Redis, and so the ceiling of any ingest process that adds one job per request.
 */
export async function runAddCeiling(options: AddCeilingOptions): Promise<AddCeilingResult> {
  const connection = createRedis(options.redisUrl, 'producer', { connectionName: 'inlet-bench-add-loop' });
  connection.on('error', () => {});
  const queue = createEventQueue(connection, options.names);
  queue.on('error', () => {});
  const prefix = `evt_${options.runId}_add_`;
  const bodyFor = bodyTemplate(`${prefix}${'#'.repeat(9)}`, Date.now());
  let counter = 0;

  const loop = async (seconds: number): Promise<AddCeilingResult> => {
    const started = performance.now();
    const deadline = started + seconds * 1000;
    let adds = 0;
    const lane = async () => {
      while (performance.now() < deadline && !options.signal?.aborted) {
        const eventId = `${prefix}${String(counter++).padStart(9, '0')}`;
        const job: EventJob = {
          source: BENCH_SOURCE,
          eventId,
          eventType: 'invoice.paid',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'inlet-bench/1.0',
            'webhook-id': eventId,
          },
          body: bodyFor(eventId),
          receivedAt: Date.now(),
        };
        await queue.add(BENCH_SOURCE, job, { ...eventJobOptions, jobId: jobIdFor(BENCH_SOURCE, eventId) });
        adds++;
      }
    };
    await Promise.all(Array.from({ length: options.inFlight }, lane));
    options.signal?.throwIfAborted();
    const elapsed = (performance.now() - started) / 1000;
    return { adds, seconds: Math.round(elapsed * 1000) / 1000, perSecond: Math.round(adds / elapsed) };
  };

  try {
    await queue.waitUntilReady();
    await loop(options.warmupSeconds);
    await options.onMeasureStart?.();
    const result = await loop(options.seconds);
    await options.onMeasureEnd?.(result);
    return result;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
