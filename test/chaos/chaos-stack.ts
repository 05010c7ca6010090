import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createEventQueue, createRedis } from '@inlet/queue';
import {
  createDatabaseOn,
  createTestDatabase,
  freePort,
  type PostgresServer,
  type RedisServer,
  startPostgresServer,
  startRedisServer,
  type TestDatabase,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import { type RunningProcess, runNode, waitHealthy } from '../support.js';
import { chaosSecretEnv, chaosSources } from './load.js';

export interface IngestProcess {
  readonly port: number;
  readonly url: string;
  readonly process: RunningProcess;
}

export interface StoredRow {
  readonly source: string;
  readonly event_id: string;
  readonly body: string;
}

/** Jobs still to be done: waiting, active (a dead worker's too, until its lock expires), delayed. */
export interface QueueState {
  readonly pending: number;
  readonly failed: number;
  readonly counts: Record<string, number>;
}

/**
 * What one chaos scenario runs on, all of its own: a redis-server with an append-only file fsynced
 * on every write (so it can be SIGKILLed without losing what it acknowledged), a database (on a
 * private PostgreSQL server when the scenario stops it), and real ingest and worker processes.
 */
export class ChaosStack {
  readonly ingests: IngestProcess[] = [];
  readonly workers: RunningProcess[] = [];
  /** Every process started, killed ones included, so `stop()` leaves none behind. */
  private readonly started: RunningProcess[] = [];
  private readonly connection: ReturnType<typeof createRedis>;
  private readonly queue: ReturnType<typeof createEventQueue>;

  private constructor(
    readonly redis: RedisServer,
    readonly postgres: PostgresServer | undefined,
    readonly db: TestDatabase,
    private readonly dir: string,
    readonly env: Record<string, string>,
  ) {
    // A connection of the test's own for inspecting the queue; it reconnects after Redis restarts.
    this.connection = createRedis(redis.url, 'producer');
    this.connection.on('error', () => {});
    this.queue = createEventQueue(this.connection, {
      name: env.INLET_QUEUE ?? '',
      prefix: env.INLET_QUEUE_PREFIX ?? '',
    });
    this.queue.on('error', () => {});
  }

  static async start(options: { privateDatabase: boolean }): Promise<ChaosStack> {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const redis = await startRedisServer({ appendfsync: 'always' });
      cleanups.push(() => redis.stop());
      const postgres = options.privateDatabase ? await startPostgresServer() : undefined;
      if (postgres) cleanups.push(() => postgres.stop());
      const db = postgres ? await createDatabaseOn(postgres.url) : await createTestDatabase();
      cleanups.push(() => db.drop());
      const dir = await mkdtemp(path.join(tmpdir(), 'inlet-chaos-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const sourcesFile = path.join(dir, 'inlet.sources.json');
      await writeFile(sourcesFile, JSON.stringify({ sources: chaosSources }));
      const queue = uniqueQueue();
      const env = {
        ...chaosSecretEnv,
        REDIS_URL: redis.url,
        DATABASE_URL: db.url,
        INLET_SOURCES: sourcesFile,
        INLET_QUEUE: queue.name,
        INLET_QUEUE_PREFIX: queue.prefix,
        // The load is the point here, not the rate limit: keep it out of the way.
        INLET_RATE_LIMIT: '{"points":1000000,"durationSeconds":1}',
        // A killed worker's jobs come back after a few seconds instead of thirty.
        WORKER_LOCK_DURATION_MS: '4000',
      };
      return new ChaosStack(redis, postgres, db, dir, env);
    } catch (error) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
      throw error;
    }
  }

  /** Starts an ingest process (on `port`, to bring a killed one back where the load sends) and waits until ready. */
  async startIngest(port?: number): Promise<IngestProcess> {
    const listenOn = port ?? (await freePort());
    const process = runNode('apps/ingest/dist/main.js', { ...this.env, PORT: String(listenOn) });
    this.started.push(process);
    const ingest = { port: listenOn, url: `http://127.0.0.1:${listenOn}`, process };
    await waitHealthy(`${ingest.url}/readyz`, process, 60_000);
    this.ingests.push(ingest);
    return ingest;
  }

  async startWorker(): Promise<RunningProcess> {
    const port = await freePort();
    const worker = runNode('apps/worker/dist/main.js', { ...this.env, WORKER_METRICS_PORT: String(port) });
    this.started.push(worker);
    await waitHealthy(`http://127.0.0.1:${port}/readyz`, worker, 60_000);
    this.workers.push(worker);
    return worker;
  }

  async queueState(): Promise<QueueState> {
    const counts = await this.queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
      'failed',
      'completed',
    );
    const pending =
      (counts.waiting ?? 0) +
      (counts.active ?? 0) +
      (counts.delayed ?? 0) +
      (counts.prioritized ?? 0) +
      (counts['waiting-children'] ?? 0);
    return { pending, failed: counts.failed ?? 0, counts };
  }

  /**
   * Waits until no job is left to do. A job completes only after its row is committed, so from
   * then on the table holds all it ever will.
   */
  async waitDrained(timeoutMs: number): Promise<QueueState> {
    let last: QueueState | undefined;
    try {
      return await waitFor(
        async () => {
          last = await this.queueState();
          return last.pending === 0 ? last : undefined;
        },
        timeoutMs,
        'the queue to drain',
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; jobs ${JSON.stringify(last?.counts)}\n${this.outputTails()}`,
      );
    }
  }

  /** Completed jobs that were taken back from a lost lock (a dead worker's, or one Redis forgot in a restart). */
  async jobsBackFromStall(): Promise<number> {
    const completed = await this.queue.getCompleted(0, -1);
    return completed.filter((job) => job.stalledCounter > 0).length;
  }

  storedRows(): Promise<StoredRow[]> {
    return this.db.sql<StoredRow[]>`SELECT source, event_id, body FROM webhook_events`;
  }

  duplicateRows(): Promise<{ source: string; event_id: string; n: number }[]> {
    return this.db.sql<{ source: string; event_id: string; n: number }[]>`
      SELECT source, event_id, count(*)::int AS n FROM webhook_events
      GROUP BY source, event_id HAVING count(*) > 1`;
  }

  /** The end of every process's output, for a failing assertion's message. */
  outputTails(): string {
    return this.started
      .map(
        (p, i) =>
          `--- process ${i} (exit ${p.child.exitCode ?? p.child.signalCode}) ---\n${p.output().slice(-2000)}`,
      )
      .join('\n');
  }

  /** Ends everything it started, whatever state the scenario left it in. */
  async stop(): Promise<void> {
    for (const process of this.started) await process.stop('SIGKILL').catch(() => {});
    await this.queue.close().catch(() => {});
    this.connection.disconnect();
    await this.db.drop().catch(() => {});
    await this.postgres?.stop().catch(() => {});
    await this.redis.stop().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
