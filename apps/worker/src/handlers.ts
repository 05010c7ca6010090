import { pathToFileURL } from 'node:url';
import type { Sources } from '@inlet/config';
import type { TransactionSql } from '@inlet/db';

/** What a handler receives: the stored row's values. */
export interface HandlerEvent {
  readonly id: string;
  readonly source: string;
  readonly eventId: string;
  readonly eventType: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly payload: unknown;
  readonly receivedAt: Date;
  /** True when an operator replayed the event on purpose. */
  readonly replay: boolean;
}

/**
 * A team's business logic for one source. It runs inside the transaction that stores the event,
 * so whatever it writes with `sql` commits exactly once per event (or once per explicit replay).
 * It may run more than once before that commit (transaction retries): effects outside `sql`
 * (HTTP calls, e-mails) belong in an outbox table written here, not in the handler itself.
 */
export type Handler = (event: HandlerEvent, sql: TransactionSql) => Promise<unknown> | unknown;

export class HandlerLoadError extends Error {
  override readonly name = 'HandlerLoadError';
}

/** Imports every source's `handler` module once, at start; a missing or malformed module stops start-up. */
export async function loadHandlers(sources: Sources): Promise<ReadonlyMap<string, Handler>> {
  const handlers = new Map<string, Handler>();
  for (const source of sources.values()) {
    if (source.handler === undefined) continue;
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(source.handler).href)) as Record<string, unknown>;
    } catch (error) {
      throw new HandlerLoadError(
        `sources.${source.name}.handler: cannot load ${source.handler}: ${(error as Error).message}`,
      );
    }
    const handle = module.handle;
    if (typeof handle !== 'function') {
      throw new HandlerLoadError(
        `sources.${source.name}.handler: ${source.handler} does not export a handle function`,
      );
    }
    handlers.set(source.name, handle as Handler);
  }
  return handlers;
}
