import type { TransactionSql } from '@inlet/db';

/** What this module needs of a postgres.js query: it is a Promise that runs when first awaited. */
interface TrackedQuery extends Promise<unknown> {
  cancel(): unknown;
}

/** The transaction is over (given up on, or finished): a late query from a handler must not run. */
export class TransactionClosedError extends Error {
  override readonly name = 'TransactionClosedError';
  readonly code = 'transaction_closed';
}

const CANCEL_GRACE_MS = 2000;

/**
 * A postgres.js transaction handle that can be shut: every query made through it is tracked, so
 * that a transaction given up on (a handler past its time, a batch past its watchdog) has its
 * running statement cancelled on the server rather than left holding locks, and no query made
 * through it later can run. postgres.js sends such a late query on the same connection, which by
 * then is back in the pool and perhaps inside another batch's transaction.
 */
export class GuardedTransaction {
  readonly sql: TransactionSql;
  private readonly unsettled = new Set<TrackedQuery>();
  /** Errors the server (or the connection) gave this transaction's own queries. */
  private readonly ownErrors = new WeakSet<object>();
  private closedBy: Error | null = null;

  constructor(tx: TransactionSql) {
    this.sql = this.wrap(tx);
  }

  /**
   * The error raised by a query of this transaction that `error` is or wraps, or undefined: what a
   * handler throws is told apart from its own statements' failures, such as a failed `fetch` whose
   * cause says ECONNREFUSED or a message that happens to read "restart transaction".
   */
  ownErrorIn(error: unknown): unknown {
    let current: unknown = error;
    for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
      if (this.ownErrors.has(current)) return current;
      current = (current as { cause?: unknown }).cause;
    }
    return undefined;
  }

  /** Refuses queries from now on, without touching those already made (the transaction ended normally). */
  seal(): void {
    this.closedBy ??= new TransactionClosedError('the transaction is over: no query may run in it now');
  }

  /**
   * Refuses queries from now on and cancels those not yet settled: the running statement is
   * cancelled on the server, queued ones never run. Resolves once they have settled, or after a
   * short grace should the server not answer (it is unreachable: the connection is then lost anyway).
   */
  async close(reason: Error): Promise<void> {
    this.closedBy ??= reason;
    const pending = [...this.unsettled];
    if (pending.length === 0) return;
    for (const query of pending) query.cancel();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(pending.map((query) => observe(query))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CANCEL_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private wrap(tx: TransactionSql): TransactionSql {
    const guard = (make: () => unknown): unknown => {
      if (this.closedBy) throw this.closedBy;
      const result = make();
      if (isQuery(result)) this.track(result);
      return result;
    };
    return new Proxy(tx, {
      apply: (target, thisArg, args) => guard(() => Reflect.apply(target, thisArg, args)),
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (property === 'unsafe' || property === 'file') {
          return (...args: unknown[]) => guard(() => Reflect.apply(value, target, args));
        }
        if (property === 'savepoint') {
          // The savepoint's own handle must answer to this guard as well.
          return (...args: unknown[]) => {
            if (this.closedBy) throw this.closedBy;
            const wrapped = args.map((arg) =>
              typeof arg === 'function'
                ? (inner: TransactionSql) => (arg as (sql: TransactionSql) => unknown)(this.wrap(inner))
                : arg,
            );
            return Reflect.apply(value, target, wrapped);
          };
        }
        return value;
      },
    });
  }

  private track(query: TrackedQuery): void {
    this.unsettled.add(query);
    // Promise.prototype.then observes the query without running it: postgres.js runs a query on
    // its own `then`, and a query may be a fragment of another that must never run alone.
    Promise.prototype.then.call(
      query,
      () => this.unsettled.delete(query),
      (error: unknown) => {
        if (typeof error === 'object' && error !== null) this.ownErrors.add(error);
        this.unsettled.delete(query);
      },
    );
  }
}

function isQuery(value: unknown): value is TrackedQuery {
  return value instanceof Promise && typeof (value as { cancel?: unknown }).cancel === 'function';
}

/** Settles with the query, without running it (see track). */
function observe(query: TrackedQuery): Promise<unknown> {
  return new Promise((resolve) => {
    Promise.prototype.then.call(query, resolve, resolve);
  });
}
