import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type EventJob, jobIdFor } from './event-job.js';
import { batchWritesThisTurn } from './redis.js';
import { SharedTimeouts } from './shared-timeouts.js';

export interface QueueNames {
  readonly name: string;
  readonly prefix: string;
}

/**
 * Retries for events the worker could not store because of the event itself (a handler throwing,
 * data the database refuses): 10 attempts backed off exponentially from 1 s (about 17 minutes in
 * all), then the failed set, which is the dead-letter queue and is kept. An unreachable database
 * spends no attempt: the worker delays the job until the database is back, however long that is.
 * Completed jobs are kept a day, which is also how long Redis recognises a duplicate delivery;
 * the database's unique constraint catches any later one.
 */
export const eventJobOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: false,
} as const satisfies JobsOptions;

export function createEventQueue(connection: Redis, names: QueueNames): Queue<EventJob> {
  return new Queue<EventJob>(names.name, { connection, prefix: names.prefix });
}

/** Raised when the queue cannot take an event now: nothing was accepted, the sender should retry. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
}

export interface EnqueueOptions {
  /** Give up after this long: a hung Redis must not hang the HTTP request. */
  readonly timeoutMs?: number;
  /** Connection errors (Redis away, reconnecting); by default they are dropped. */
  readonly onError?: (error: Error) => void;
  /**
   * Replicas that must hold each event before it counts as accepted (Redis `WAIT`), for those who
   * cannot lose an acknowledged event with the primary. 0, the default, waits for none.
   */
  readonly ackReplicas?: number;
  /** How long `WAIT` may take before the event is refused as unavailable (default 1000 ms). */
  readonly ackTimeoutMs?: number;
  /**
   * Commands sent and not yet answered past which new events are refused at once (default 10,000).
   * An add that timed out still holds its event in the connection's queue until Redis answers, so
   * a Redis that stalls while staying connected would otherwise let them pile up without limit.
   */
  readonly maxPendingCommands?: number;
}

const DEFAULT_MAX_PENDING_COMMANDS = 10_000;

/**
 * Producer side of the events queue: one add per event, jobId = the event's idempotency key.
 * Adds issued while the event loop handles one round of I/O (many HTTP requests under load) leave
 * in one socket write (`batchWritesThisTurn`).
 */
export class EventProducer {
  private readonly timeouts = new SharedTimeouts();

  constructor(
    readonly queue: Queue<EventJob>,
    private readonly connection: Redis,
    private readonly options: EnqueueOptions = {},
  ) {
    // Connection trouble surfaces as a 503 per request; these events only need somewhere to go.
    const report = (error: Error) => options.onError?.(error);
    connection.on('error', report);
    queue.on('error', report);
  }

  /**
   * Commands sent on the connection and not yet answered by Redis, those that timed out included:
   * ioredis keeps each until its answer arrives or the connection closes.
   */
  get pending(): number {
    return this.connection.commandQueue.length;
  }

  /** True while the connection to Redis is up; when false, `enqueue` would fail. */
  get connected(): boolean {
    return this.connection.status === 'ready';
  }

  /** Adds the event; a duplicate jobId is a no-op in BullMQ and resolves the same way. */
  async enqueue(event: EventJob): Promise<string> {
    if (!this.connected) throw new QueueUnavailableError('Redis is not connected');
    const maxPending = this.options.maxPendingCommands ?? DEFAULT_MAX_PENDING_COMMANDS;
    const pending = this.pending;
    if (pending >= maxPending) {
      throw new QueueUnavailableError(`Redis has not answered ${pending} commands yet`);
    }
    const jobId = jobIdFor(event.source, event.eventId);
    const timeoutMs = this.options.timeoutMs ?? 2000;
    batchWritesThisTurn(this.connection);
    try {
      await this.timeouts.within(
        this.queue.add(event.source, event, { ...eventJobOptions, jobId }),
        timeoutMs,
        () => new QueueUnavailableError(`Redis did not answer in ${timeoutMs} ms`),
      );
      const replicas = this.options.ackReplicas ?? 0;
      if (replicas > 0) await this.waitForReplicas(replicas);
      return jobId;
    } catch (error) {
      if (error instanceof QueueUnavailableError) throw error;
      throw new QueueUnavailableError(`Redis refused the event: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * Redis `WAIT`: blocks until the writes made so far on this connection reached `replicas` replicas.
   * Fewer in time means the event is on the primary only; it is refused, and the sender's retry is
   * a duplicate that the jobId absorbs.
   */
  private async waitForReplicas(replicas: number): Promise<void> {
    const timeoutMs = this.options.ackTimeoutMs ?? 1000;
    const reached = await this.connection.wait(replicas, timeoutMs);
    if (reached < replicas) {
      throw new QueueUnavailableError(
        `the event reached ${reached} of ${replicas} Redis replicas within ${timeoutMs} ms`,
      );
    }
  }

  /**
   * Jobs not yet taken by a worker: waiting, and delayed for a retry (the worker parks jobs there
   * while the database is away), so the bound holds during an outage too. One round trip.
   */
  backlog(): Promise<number> {
    return this.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed');
  }

  /** Round trip to Redis, for readiness probes. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    if (!this.connected) return false;
    try {
      const answer = await Promise.race([
        this.connection.ping(),
        new Promise<null>((resolve) => setTimeout(resolve, timeoutMs, null).unref()),
      ]);
      return answer === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.connection.disconnect();
  }
}
