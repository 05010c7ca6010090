import { randomUUID } from 'node:crypto';
import type { EventJob } from '@inlet/queue';
import { retryFailed } from '@inlet/replay';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';

export interface RetryAction {
  readonly id: string;
  readonly state: 'running' | 'done' | 'failed';
  /** Who started it. */
  readonly user: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** Failed jobs when it started: the most it looks at (null until the first batch is done). */
  readonly total: number | null;
  /** Jobs looked at so far. */
  readonly seen: number;
  /** Jobs moved back to waiting so far. */
  readonly retried: number;
  /** Why it stopped early, when it did. */
  readonly error: string | null;
}

// Finished actions kept for GET /api/failed/retry/:id; older ones are forgotten.
const KEPT_ACTIONS = 50;

/**
 * "Retry every failed job" as a background action: the HTTP request that starts it returns at
 * once, and the action's progress can be read by id. Only one runs at a time, since two walks of
 * the same failed set would only get in each other's way. Kept in this process's memory.
 */
export class RetryActions {
  private readonly actions = new Map<string, RetryAction>();
  private running: string | null = null;

  constructor(
    private readonly queue: Queue<EventJob>,
    private readonly logger: Logger,
    private readonly options: { batchSize?: number; now?: () => Date } = {},
  ) {}

  /** Starts a retry, or returns the one already running. */
  start(user: string): { action: RetryAction; started: boolean } {
    const current = this.running === null ? undefined : this.actions.get(this.running);
    if (current !== undefined) return { action: current, started: false };

    const id = randomUUID();
    const action: RetryAction = {
      id,
      state: 'running',
      user,
      startedAt: this.now().toISOString(),
      finishedAt: null,
      total: null,
      seen: 0,
      retried: 0,
      error: null,
    };
    this.actions.set(id, action);
    this.running = id;
    this.forgetOld();
    void this.run(id);
    return { action, started: true };
  }

  get(id: string): RetryAction | undefined {
    return this.actions.get(id);
  }

  /** Resolves once no action is running (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.running !== null) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private async run(id: string): Promise<void> {
    const update = (fields: Partial<RetryAction>) => {
      const action = this.actions.get(id);
      if (action !== undefined) this.actions.set(id, { ...action, ...fields });
    };
    try {
      const { retried } = await retryFailed(this.queue, {
        ...(this.options.batchSize === undefined ? {} : { batchSize: this.options.batchSize }),
        onProgress: ({ total, seen, retried: soFar }) => update({ total, seen, retried: soFar }),
      });
      const action = this.actions.get(id);
      update({
        state: 'done',
        retried,
        total: action?.total ?? 0,
        finishedAt: this.now().toISOString(),
      });
      this.logger.info({ action: id, retried }, 'retried failed jobs');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      update({
        state: 'failed',
        error: 'the queue could not be read or changed',
        finishedAt: this.now().toISOString(),
      });
      this.logger.warn({ action: id, err: message }, 'retrying failed jobs stopped');
    } finally {
      this.running = null;
    }
  }

  private forgetOld(): void {
    for (const id of this.actions.keys()) {
      if (this.actions.size <= KEPT_ACTIONS) break;
      if (id !== this.running) this.actions.delete(id);
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
