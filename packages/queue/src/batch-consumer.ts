import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { COMPLETE_JOBS, FAIL_UNREADABLE_JOB, TAKE_JOBS } from './batch-scripts.js';
import type { QueueNames } from './queue.js';

/** A job as the consumer hands it over: its data is the JSON text BullMQ stored. */
export interface TakenJob {
  readonly id: string;
  readonly data: string;
  /** Attempts already spent (failed) before this one. */
  readonly attemptsMade: number;
}

/** Thrown by `process`: the job goes back to the delayed set until then, spending no attempt. */
export class DelayJobError extends Error {
  override readonly name = 'DelayJobError';
  constructor(readonly until: number) {
    super(`delayed until ${new Date(until).toISOString()}`);
  }
}

export interface BatchConsumerOptions {
  readonly connection: Redis;
  readonly queue: QueueNames;
  /** Runs one job; its result is stored as the job's return value (JSON). */
  readonly process: (job: TakenJob) => Promise<unknown>;
  /** Most jobs in flight at once. */
  readonly concurrency: number;
  /**
   * Bytes of job data in flight past which no job is taken until some are done (one job is always
   * taken when none is in flight, however large).
   */
  readonly maxBytesInFlight: number;
  /** How long a job's lock lasts; it is renewed every half of it while the job runs. */
  readonly lockDurationMs: number;
  /** How often BullMQ's stalled-job check runs (default: the lock duration). */
  readonly stalledIntervalMs?: number;
  /** Locks lost before BullMQ fails a job as stalled. */
  readonly maxStalledCount: number;
  /** How long completed jobs are kept, and how many at most (the queue's removeOnComplete). */
  readonly keepCompleted: { readonly age: number; readonly count: number };
  /** Most jobs one script call takes or completes (default 256). */
  readonly maxJobsPerCall?: number;
  /**
   * Longest one wait for new jobs blocks (default 5 s). An add wakes the consumer at once; this
   * bounds how late it notices what nothing announces, such as a queue resumed elsewhere.
   */
  readonly maxBlockMs?: number;
}

interface Running {
  readonly job: TakenJob;
  readonly token: string;
  readonly bytes: number;
}

interface Completion {
  readonly running: Running;
  readonly value: string;
  readonly done: () => void;
}

type Codes = number[];
/** A job as the take script returns it: id, data, attempts made, deferred failure. */
type RawJob = [string, string, string, string | null];
type Taken = [RawJob[], number];

interface ScriptedRedis extends Redis {
  inletTakeJobs(...args: (string | number)[]): Promise<Taken>;
  inletCompleteJobs(...args: (string | number)[]): Promise<Codes>;
  inletFailUnreadableJob(...args: (string | number)[]): Promise<number>;
}

/** The job fields BullMQ parses as JSON when it reads a job (Job.fromId, Bull Board's lists). */
const JSON_FIELDS = ['data', 'opts', 'progress', 'parent'] as const;

/**
 * Consumes a BullMQ queue many jobs at a time. BullMQ's `Worker` runs two scripts per job (about
 * 90 µs of Redis each); this takes up to `maxJobsPerCall` jobs in one script call and completes
 * all the jobs that finish in one turn of the event loop in another, which brings Redis's work per
 * job to about a third. Everything else is BullMQ's: a processor-less `Worker` runs the stalled-job
 * check and its script renews the locks of the jobs in flight, and failures and delays go through
 * BullMQ's `Job.moveToFailed` (attempts, backoff, the failed set) and `Job.moveToDelayed`, with this
 * consumer's lock token.
 *
 * Events: `failed` (job, error) once a job is failed or scheduled for another attempt;
 * `error` (error) for trouble with Redis that the consumer outlives; `stalled` (jobId) from
 * BullMQ's check; `lockLost` (jobId) when a job's lock could not be renewed or was gone when it
 * completed (the stalled-job check then runs it again).
 */
export class BatchConsumer extends EventEmitter {
  private readonly redis: ScriptedRedis;
  private readonly blocking: Redis;
  /** BullMQ's own worker without a processor: stalled-job checks, lock renewal, Job methods. */
  private readonly bull: Worker;
  private readonly keys: Record<
    | 'wait'
    | 'active'
    | 'prioritized'
    | 'events'
    | 'meta'
    | 'delayed'
    | 'marker'
    | 'stalled'
    | 'completed'
    | 'failed',
    string
  >;
  private readonly prefix: string;
  private readonly running = new Map<string, Running>();
  /** Called each time a job is done, then forgotten. */
  private doneWaiters: Array<() => void> = [];
  private readonly completions: Completion[] = [];
  private flushScheduled = false;
  private bytes = 0;
  private closing: Promise<void> | null = null;
  /** Set by a forced close: nothing more is waited for. */
  private forced = false;
  /** Ends a graceful close's wait at once (see close). */
  private stopWaiting: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private tokenCount = 0;
  private readonly tokenBase = randomUUID();

  constructor(private readonly options: BatchConsumerOptions) {
    super();
    const { connection, queue } = options;
    this.prefix = `${queue.prefix}:${queue.name}:`;
    const key = (type: string) => `${this.prefix}${type}`;
    this.keys = {
      wait: key('wait'),
      active: key('active'),
      prioritized: key('prioritized'),
      events: key('events'),
      meta: key('meta'),
      delayed: key('delayed'),
      marker: key('marker'),
      stalled: key('stalled'),
      completed: key('completed'),
      failed: key('failed'),
    };
    connection.defineCommand('inletTakeJobs', { numberOfKeys: 7, lua: TAKE_JOBS });
    connection.defineCommand('inletCompleteJobs', { numberOfKeys: 7, lua: COMPLETE_JOBS });
    connection.defineCommand('inletFailUnreadableJob', { numberOfKeys: 5, lua: FAIL_UNREADABLE_JOB });
    this.redis = connection as ScriptedRedis;
    this.blocking = connection.duplicate({
      connectionName: `${connection.options.connectionName ?? 'inlet'}-blocking`,
    });
    this.blocking.on('error', () => {});
    this.bull = new Worker(queue.name, null, {
      connection,
      prefix: queue.prefix,
      autorun: false,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs ?? options.lockDurationMs,
      maxStalledCount: options.maxStalledCount,
    });
    this.bull.on('error', (error) => this.emit('error', error));
    this.bull.on('stalled', (jobId) => this.emit('stalled', jobId));
  }

  /** Jobs taken and not yet done. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Bytes of job data taken and not yet done. */
  get bytesInFlight(): number {
    return this.bytes;
  }

  /** Starts taking jobs, and BullMQ's stalled-job check. */
  run(): void {
    if (this.loopDone) return;
    void this.bull.startStalledCheckTimer();
    this.renewTimer = setInterval(() => void this.renewLocks(), this.options.lockDurationMs / 2);
    this.loopDone = this.loop();
  }

  /**
   * Stops taking jobs and waits for those in flight to be done (completed, failed or delayed in
   * Redis). With `force`, returns without waiting: their locks expire and the stalled-job check of
   * any consumer puts them back to wait. A forced close also cuts short a graceful one under way
   * (a shutdown deadline).
   */
  close(force = false): Promise<void> {
    if (force && !this.forced) {
      this.forced = true;
      this.stopWaiting?.();
    }
    this.closing ??= (async () => {
      this.wake?.();
      this.blocking.disconnect();
      if (!this.forced) {
        // A take already sent is answered before the loop ends: its jobs are then in flight too.
        await Promise.race([
          this.loopDone?.catch(() => {}),
          new Promise<void>((resolve) => {
            this.stopWaiting = resolve;
          }),
        ]);
        while (this.running.size > 0 && !this.forced) {
          await new Promise<void>((resolve) => {
            this.stopWaiting = resolve;
            this.whenDone(resolve);
          });
        }
      }
      if (this.renewTimer) clearInterval(this.renewTimer);
      await this.bull.close(this.forced);
    })();
    return this.closing;
  }

  private whenDone(resolve: () => void): void {
    this.doneWaiters.push(resolve);
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      const room = this.room();
      if (room === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.whenDone(resolve);
        });
        continue;
      }
      this.tokenCount += 1;
      const token = `${this.tokenBase}:${this.tokenCount}`;
      let taken: Taken;
      try {
        taken = await this.take(room, token);
      } catch (error) {
        if (this.closing) return;
        this.emit('error', error);
        await this.sleep(1000);
        continue;
      }
      const [jobs, nextDelayedAt] = taken;
      for (const job of jobs) this.start(job, token);
      if (jobs.length > 0) continue;
      const maxBlockMs = this.options.maxBlockMs ?? 5000;
      const untilDelayed = nextDelayedAt > 0 ? nextDelayedAt - Date.now() : maxBlockMs;
      await this.waitForJobs(Math.max(1, Math.min(maxBlockMs, untilDelayed)));
    }
  }

  /** Jobs this consumer may take now. */
  private room(): number {
    if (this.running.size > 0 && this.bytes >= this.options.maxBytesInFlight) return 0;
    return Math.max(0, this.options.concurrency - this.running.size);
  }

  /** Takes jobs from wait to active, locked with `token`, and when the next delayed job is due. */
  private take(room: number, token: string): Promise<Taken> {
    const k = this.keys;
    return this.redis.inletTakeJobs(
      k.wait,
      k.active,
      k.prioritized,
      k.events,
      k.meta,
      k.delayed,
      k.marker,
      this.prefix,
      Date.now(),
      token,
      this.options.lockDurationMs,
      Math.min(room, this.options.maxJobsPerCall ?? 256),
      Math.max(0, this.options.maxBytesInFlight - this.bytes),
    );
  }

  /** Blocks on BullMQ's marker key, which every add (and every due delayed job) sets. */
  private async waitForJobs(timeoutMs: number): Promise<void> {
    try {
      await this.blocking.bzpopmin(this.keys.marker, timeoutMs / 1000);
    } catch (error) {
      if (this.closing) return;
      this.emit('error', error);
      await this.sleep(1000);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private start([id, data, attemptsMade, deferredFailure]: RawJob, token: string): void {
    const running: Running = {
      job: { id, data, attemptsMade: Number(attemptsMade) },
      token,
      bytes: data.length,
    };
    this.running.set(id, running);
    this.bytes += running.bytes;
    void this.execute(running, deferredFailure).finally(() => {
      this.running.delete(id);
      this.bytes -= running.bytes;
      const waiters = this.doneWaiters;
      this.doneWaiters = [];
      for (const resolve of waiters) resolve();
    });
  }

  private async execute(running: Running, deferredFailure: string | null): Promise<void> {
    let value: string;
    try {
      // BullMQ marks a job that stalled too often this way: it fails without running again.
      if (deferredFailure) throw new UnrecoverableError(deferredFailure);
      value = JSON.stringify((await this.options.process(running.job)) ?? null);
    } catch (error) {
      await this.settleFailure(running, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    await new Promise<void>((done) => {
      this.completions.push({ running, value, done });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Completes every job that finished during this turn of the event loop, many per call. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const most = this.options.maxJobsPerCall ?? 256;
    const pending = this.completions.splice(0);
    await Promise.all(
      chunks(pending, most).map(async (chunk) => {
        const k = this.keys;
        const args: (string | number)[] = [
          k.active,
          k.completed,
          k.events,
          k.meta,
          k.stalled,
          k.wait,
          k.prioritized,
          this.prefix,
          Date.now(),
          this.options.keepCompleted.age,
          this.options.keepCompleted.count,
        ];
        for (const { running, value } of chunk) args.push(running.job.id, running.token, value);
        try {
          const codes = await this.redis.inletCompleteJobs(...args);
          codes.forEach((code, index) => {
            if (code !== 0) this.emit('lockLost', chunk[index]?.running.job.id);
          });
        } catch (error) {
          // The jobs stay active; once their locks expire the stalled-job check puts them back.
          this.emit('error', error);
        } finally {
          for (const completion of chunk) completion.done();
        }
      }),
    );
  }

  private async settleFailure(running: Running, error: Error): Promise<void> {
    let job: Job | undefined;
    try {
      job = await Job.fromId(this.bull, running.job.id);
    } catch (readError) {
      await this.failUnreadable(running, error, readError);
      return;
    }
    try {
      if (!job) return;
      if (error instanceof DelayJobError) {
        await job.moveToDelayed(error.until, running.token);
        return;
      }
      await job.moveToFailed(error, running.token, false);
      this.emit('failed', job, error);
    } catch (settleError) {
      this.emit('error', settleError);
    }
  }

  /**
   * BullMQ could not read the job back, most likely because a field it parses is not JSON (a job
   * written into Redis by something other than Inlet). Such a job can never run: left active, it
   * would come back through the stalled-job check forever, and Bull Board could not list it. It
   * is failed without BullMQ reading it, its unreadable text kept (see FAIL_UNREADABLE_JOB).
   */
  private async failUnreadable(running: Running, error: Error, readError: unknown): Promise<void> {
    const { id } = running.job;
    try {
      const values = await this.redis.hmget(`${this.prefix}${id}`, ...JSON_FIELDS);
      const unreadable = JSON_FIELDS.filter((_, index) => !isJsonOrMissing(values[index]));
      if (unreadable.length === 0) {
        // Readable after all: Redis failed the read. The job comes back once its lock expires.
        this.emit('error', readError);
        return;
      }
      const where = unreadable.map((field) =>
        field === 'data' ? 'data.unreadableData' : `${field}.unreadable`,
      );
      const reason = `${error.message} (job not readable: ${unreadable.join(', ')} not JSON; kept as text in ${where.join(', ')})`;
      const k = this.keys;
      const code = await this.redis.inletFailUnreadableJob(
        k.active,
        k.failed,
        k.events,
        k.stalled,
        k.meta,
        this.prefix,
        id,
        running.token,
        Date.now(),
        reason,
        ...unreadable,
      );
      if (code !== 1) {
        this.emit('lockLost', id);
        return;
      }
      const failed = await Job.fromId(this.bull, id);
      if (failed) this.emit('failed', failed, new UnrecoverableError(reason));
    } catch (settleError) {
      this.emit('error', settleError);
    }
  }

  private async renewLocks(): Promise<void> {
    if (this.running.size === 0) return;
    const ids: string[] = [];
    const tokens: string[] = [];
    for (const [id, running] of this.running) {
      ids.push(id);
      tokens.push(running.token);
    }
    try {
      const lost = await this.bull.extendJobLocks(ids, tokens, this.options.lockDurationMs);
      for (const id of lost) if (this.running.has(id)) this.emit('lockLost', id);
    } catch (error) {
      this.emit('error', error);
    }
  }
}

function isJsonOrMissing(text: string | null | undefined): boolean {
  if (text === null || text === undefined) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}
