export {
  type BoundedText,
  countRecentEventsBySource,
  type EventCursor,
  type EventPage,
  type EventSearch,
  type EventSummary,
  type EventView,
  type EventViewOptions,
  eventSummarySchema,
  getEventView,
  type SourceCount,
  searchEvents,
} from './browse-events.js';
export {
  type CreateSqlOptions,
  createSql,
  type Notice,
  type Queryable,
  type Sql,
  type TransactionSql,
} from './client.js';
export { isConnectionError, isPermissionDenied, isSchemaMissing } from './connection-errors.js';
export { createDatabaseIfMissing, quoteIdentifier } from './create-database.js';
export {
  countEvents,
  getEvent,
  type InsertEventResult,
  insertEvent,
  insertEvents,
  type NewEvent,
  type ReplayPageCursor,
  type ReplayPageQuery,
  type ReplayPageRow,
  readReplayPage,
  type StoredEvent,
  storedEventSchema,
} from './events.js';
export { checkEventsTable, pingDatabase } from './health.js';
export {
  loadMigrations,
  type MigrateOptions,
  type Migration,
  MigrationError,
  type MigrationErrorCode,
  migrate,
  migrationsDirectory,
} from './migrate.js';
export {
  isJsonbCompatible,
  isPayloadRefusal,
  type PayloadJsonOptions,
  payloadJsonFor,
} from './payload-json.js';
export { countEventsToPrune, type PruneOptions, type PruneSelection, pruneEvents } from './prune.js';
export {
  type IsolationLevel,
  isRetryableTxError,
  type RetryOptions,
  TransactionRetriesExhaustedError,
  type WithTransactionOptions,
  withTransaction,
} from './retry.js';
export { type SslOptions, sslOptionsFor } from './ssl-options.js';
