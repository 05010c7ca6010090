import type { Queryable } from './client.js';

/** Resolves once the database answers a trivial query; rejects with its error otherwise. */
export async function pingDatabase(sql: Queryable): Promise<void> {
  await sql`SELECT 1`;
}

/**
 * Resolves once the events table can be read: the database answers, the schema is migrated and
 * the role has its grants. Rejects with the database's error (see `isSchemaMissing`,
 * `isPermissionDenied`) otherwise.
 */
export async function checkEventsTable(sql: Queryable): Promise<void> {
  await sql`SELECT 1 FROM webhook_events LIMIT 0`;
}
