import postgres from 'postgres';

/** A postgres.js client (a pool of connections). */
export type Sql = postgres.Sql;
/** The handle a transaction callback receives from `sql.begin`. */
export type TransactionSql = postgres.TransactionSql;
/** Anything that runs queries: the pool itself or a transaction. */
export type Queryable = Sql | TransactionSql;
export type Notice = postgres.Notice;

export interface CreateSqlOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Receives server notices, except the "already exists, skipping" ones IF [NOT] EXISTS emits. */
  onnotice?: (notice: Notice) => void;
  /** Shown in `pg_stat_activity` / CockroachDB's session list (default `inlet`). */
  application_name?: string;
  /** Seconds before an idle connection is closed (default 60). */
  idle_timeout?: number;
  /** Seconds to wait for a connection (default 10). */
  connect_timeout?: number;
  /** TLS settings, from `sslOptionsFor(url, ca)`; without them the URL's `sslmode` decides. */
  ssl?: postgres.Options<Record<string, postgres.PostgresType>>['ssl'] | undefined;
  /** Session settings sent when each connection opens (e.g. CockroachDB's `inject_retry_errors_enabled`). */
  session?: Readonly<Record<string, string>>;
}

/**
 * Opens a pool for `url` (PostgreSQL or CockroachDB). `undefined` parameters are sent as NULL
 * rather than rejected, and notices go to `onnotice` instead of postgres.js's default console.log.
 */
export function createSql(url: string, options: CreateSqlOptions = {}): Sql {
  const forward = options.onnotice;
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: options.idle_timeout ?? 60,
    connect_timeout: options.connect_timeout ?? 10,
    connection: { ...options.session, application_name: options.application_name ?? 'inlet' },
    transform: { undefined: null },
    onnotice: (notice) => {
      if (!isSkippingNotice(notice)) forward?.(notice);
    },
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
  });
}

/** `CREATE ... IF NOT EXISTS` and `DROP ... IF EXISTS` report what they skipped: noise for migrations. */
function isSkippingNotice(notice: Notice): boolean {
  return notice.message?.endsWith(', skipping') === true;
}
