import { once } from 'node:events';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { ADD_JOBS } from './batch-scripts.js';
import { type EventJob, jobIdFor } from './event-job.js';

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
   * Events sent to Redis and not yet answered past which new events are refused at once (default
   * 10,000). An add that timed out still holds its event in memory until Redis answers, so a Redis
   * that stalls while staying connected would otherwise let them pile up without limit.
   */
  readonly maxPendingEvents?: number;
  /** Most events in one add script call (default 256). */
  readonly maxBatchSize?: number;
}

const DEFAULT_MAX_PENDING_EVENTS = 10_000;

interface PendingAdd {
  readonly jobId: string;
  readonly name: string;
  readonly data: string;
  resolve(): void;
  reject(error: unknown): void;
}

interface AddingRedis extends Redis {
  inletAddJobs(...args: (string | number)[]): Promise<number[]>;
}

/** The options BullMQ stores with each event job, as JSON, up to the jobId the add script closes them with. */
const OPTS_JSON_HEAD = `${JSON.stringify(eventJobOptions).slice(0, -1)},"jobId":`;

/**
 * Producer side of the events queue: one job per event, jobId = the event's idempotency key.
 * The events handed over while the event loop handles one round of I/O (many HTTP requests under
 * load) are added by one script call (`ADD_JOBS`), which stores each as `Queue.add` would: BullMQ
 * spends a script call, and far more of this process's time, on each. The adds go over a
 * connection of their own without ioredis's command timeout, so that an add counts as pending
 * exactly until Redis answers it (`pending`).
 */
export class EventProducer {
  private readonly adds: AddingRedis;
  private readonly keys: readonly string[];
  private readonly prefix: string;
  private batch: PendingAdd[] = [];
  private unanswered = 0;

  constructor(
    readonly queue: Queue<EventJob>,
    private readonly connection: Redis,
    private readonly options: EnqueueOptions = {},
  ) {
    const adds = connection.duplicate({
      commandTimeout: undefined,
      connectionName: `${connection.options.connectionName ?? 'inlet-producer'}-adds`,
    } as RedisOptions);
    adds.defineCommand('inletAddJobs', { numberOfKeys: 5, lua: ADD_JOBS });
    this.adds = adds as AddingRedis;
    this.prefix = `${queue.opts.prefix}:${queue.name}:`;
    this.keys = ['wait', 'meta', 'events', 'marker', 'active'].map((type) => this.prefix + type);
    // Connection trouble surfaces as a 503 per request; these events only need somewhere to go.
    const report = (error: Error) => options.onError?.(error);
    connection.on('error', report);
    adds.on('error', report);
    queue.on('error', report);
  }

  /**
   * Events sent to Redis and not yet answered, those whose request timed out included: each is
   * held in memory until its answer arrives or the connection closes.
   */
  get pending(): number {
    return this.unanswered;
  }

  /** Resolves once both connections to Redis are up (or fails with the first connection error). */
  async waitUntilReady(): Promise<void> {
    await this.queue.waitUntilReady();
    if (this.adds.status === 'ready') return;
    if (this.adds.status === 'wait') await this.adds.connect();
    else await once(this.adds, 'ready');
  }

  /** True while the connection to Redis is up; when false, `enqueue` would fail. */
  get connected(): boolean {
    return this.adds.status === 'ready';
  }

  /** Adds the event; a duplicate jobId is a no-op, as in BullMQ, and resolves the same way. */
  async enqueue(event: EventJob): Promise<string> {
    if (!this.connected) throw new QueueUnavailableError('Redis is not connected');
    const maxPending = this.options.maxPendingEvents ?? DEFAULT_MAX_PENDING_EVENTS;
    const pending = this.unanswered + this.batch.length;
    if (pending >= maxPending) {
      throw new QueueUnavailableError(`Redis has not answered ${pending} events yet`);
    }
    const jobId = jobIdFor(event.source, event.eventId);
    try {
      await new Promise<void>((resolve, reject) => {
        const add = { jobId, name: event.source, data: JSON.stringify(event), resolve, reject };
        if (this.batch.push(add) === 1) setImmediate(this.flush);
      });
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

  /** Sends the events handed over this turn, a script call per `maxBatchSize`. */
  private readonly flush = (): void => {
    const batch = this.batch;
    this.batch = [];
    const size = this.options.maxBatchSize ?? 256;
    for (let start = 0; start < batch.length; start += size) this.send(batch.slice(start, start + size));
  };

  /**
   * One script call for `adds`, each settled by its answer, or refused once `timeoutMs` have passed
   * without one (one timer per call rather than per event: under load that is thousands fewer).
   */
  private send(adds: readonly PendingAdd[]): void {
    const args: (string | number)[] = [...this.keys, this.prefix, Date.now(), OPTS_JSON_HEAD];
    for (const add of adds) args.push(add.jobId, add.name, add.data);
    this.unanswered += adds.length;
    let settled = false;
    const settle = (outcome: (add: PendingAdd) => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const add of adds) outcome(add);
    };
    const timeoutMs = this.options.timeoutMs ?? 2000;
    const timer = setTimeout(() => {
      const error = new QueueUnavailableError(`Redis did not answer in ${timeoutMs} ms`);
      settle((add) => add.reject(error));
    }, timeoutMs);
    this.adds.inletAddJobs(...args).then(
      () => {
        this.unanswered -= adds.length;
        settle((add) => add.resolve());
      },
      (error: unknown) => {
        this.unanswered -= adds.length;
        settle((add) => add.reject(error));
      },
    );
  }

  /**
   * Redis `WAIT`: blocks until the writes made so far on this connection reached `replicas` replicas.
   * Fewer in time means the event is on the primary only; it is refused, and the sender's retry is
   * a duplicate that the jobId absorbs.
   */
  private async waitForReplicas(replicas: number): Promise<void> {
    const timeoutMs = this.options.ackTimeoutMs ?? 1000;
    const reached = await this.adds.wait(replicas, timeoutMs);
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
        this.adds.ping(),
        new Promise<null>((resolve) => setTimeout(resolve, timeoutMs, null).unref()),
      ]);
      return answer === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.adds.disconnect();
    this.connection.disconnect();
  }
}
