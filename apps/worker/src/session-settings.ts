/**
 * Server-side limits for the worker's database sessions, derived from the handler timeout, so that
 * nothing a handler starts can hold locks or a connection much longer than the handler may run,
 * even when the worker itself cannot end it (its event loop blocked, its host gone):
 * - `statement_timeout`: no statement, a handler's or the worker's, runs past it;
 * - `lock_timeout`: no statement waits past it for a lock held by another transaction;
 * - `idle_in_transaction_session_timeout`: the server ends a session left inside a transaction
 *   with nothing running for that long, which releases its locks.
 * The worker gives up on a handler first (at the handler timeout) and rolls back itself: these are
 * the backstop, a grace later. PostgreSQL and CockroachDB both take them as connection parameters,
 * in milliseconds.
 */
export function workerSessionSettings(handlerTimeoutMs: number): Record<string, string> {
  const limit = String(handlerTimeoutMs + sessionGraceMs(handlerTimeoutMs));
  return {
    statement_timeout: limit,
    lock_timeout: limit,
    idle_in_transaction_session_timeout: limit,
  };
}

/** A second, or half the handler timeout when that is longer, up to five seconds. */
function sessionGraceMs(handlerTimeoutMs: number): number {
  return Math.min(5000, Math.max(1000, Math.round(handlerTimeoutMs / 2)));
}
