import { commonEnv, databaseEnv, databaseTlsFromEnv, parseEnv, redisTlsFromEnv } from '@inlet/config';
import { createSql, type Sql, type SslOptions, sslOptionsFor } from '@inlet/db';
import { createEventQueue, createRedis } from '@inlet/queue';
import { ReplayError, replayEvent, replayEvents, retryFailed } from '@inlet/replay';
import { readBatchSize, readOptions, readTime } from './arguments.js';
import { CliError } from './cli-error.js';

export const replayUsage = `Usage: inlet replay --id UUID
       inlet replay --source NAME --since TIME [--until TIME]
       inlet replay --failed

Enqueues stored events again (the source's handler runs again and processed_at moves), or moves
the failed jobs (the dead-letter queue) back to waiting.

Options:
  --id UUID          replay one stored event, by its row id
  --source NAME      replay every stored event of this source received from --since to --until
  --since TIME       ISO-8601 with a zone (2026-11-22T10:00:00Z) or a duration ago (30m, 1h, 2d)
  --until TIME       the same, exclusive (default: now)
  --failed           move every failed job back to waiting, with its attempts reset
  --batch-size N     rows or jobs per round trip (default 500)

Environment: DATABASE_URL, REDIS_URL, INLET_QUEUE, INLET_QUEUE_PREFIX, DATABASE_TLS_CA_FILE,
REDIS_TLS_CA_FILE.`;

type Request =
  | { readonly mode: 'id'; readonly id: string }
  | { readonly mode: 'range'; readonly source: string; readonly since: Date; readonly until?: Date }
  | { readonly mode: 'failed' };

const replayOptions = {
  id: { type: 'string' },
  source: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  failed: { type: 'boolean' },
  'batch-size': { type: 'string' },
} as const;

/** Replays what the arguments name and returns the line that says what was done. */
export async function replay(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { request, batchSize } = readArguments(argv);
  const settings = parseEnv({ ...commonEnv, ...databaseEnv }, env);
  const redisTls = redisTlsFromEnv(settings);
  const database = {
    url: settings.DATABASE_URL,
    ssl: sslOptionsFor(settings.DATABASE_URL, databaseTlsFromEnv(settings)?.ca),
  };
  const batch = batchSize === undefined ? {} : { batchSize };

  const connection = createRedis(settings.REDIS_URL, 'producer', {
    tlsCa: redisTls?.ca,
    // A command line gives up instead of waiting for Redis forever.
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  let redisError: Error | undefined;
  connection.on('error', (error: Error) => {
    redisError = error;
  });
  const queue = createEventQueue(connection, {
    name: settings.INLET_QUEUE,
    prefix: settings.INLET_QUEUE_PREFIX,
  });
  queue.on('error', () => {});
  try {
    await queue.waitUntilReady().catch((error: unknown) => {
      const reason = redisError?.message ?? (error instanceof Error ? error.message : String(error));
      throw new Error(`cannot reach Redis at ${redactedUrl(settings.REDIS_URL)} (${reason})`);
    });
    switch (request.mode) {
      case 'id': {
        const done = await withSql(database, (sql) => replayEvent({ sql, queue }, request.id));
        return `replayed event ${request.id} (${done.source}/${done.eventId}) as job ${done.jobId}`;
      }
      case 'range': {
        const { source, since, until } = request;
        const { enqueued } = await withSql(database, (sql) =>
          replayEvents(
            { sql, queue },
            { source, since, ...(until === undefined ? {} : { until }), ...batch },
          ),
        );
        return `replayed ${enqueued} events of source ${source}`;
      }
      case 'failed': {
        const { retried } = await retryFailed(queue, batch);
        return `retried ${retried} failed jobs`;
      }
    }
  } catch (error) {
    throw error instanceof ReplayError ? cliErrorFor(error) : error;
  } finally {
    await queue.close().catch(() => {});
    connection.disconnect();
  }
}

async function withSql<T>(
  database: { url: string; ssl: SslOptions | undefined },
  use: (sql: Sql) => Promise<T>,
): Promise<T> {
  const sql = createSql(database.url, { max: 1, application_name: 'inlet-cli', ssl: database.ssl });
  try {
    return await use(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function readArguments(argv: string[]): { request: Request; batchSize?: number } {
  const values = readOptions(argv, replayOptions, replayUsage);
  const modes = [values.id !== undefined, values.source !== undefined, values.failed === true];
  if (modes.filter(Boolean).length !== 1) {
    throw new CliError('give one of --id, --source or --failed', replayUsage);
  }
  if (values.source === undefined && (values.since !== undefined || values.until !== undefined)) {
    throw new CliError('--since and --until go with --source', replayUsage);
  }
  const batchSize = values['batch-size'] === undefined ? undefined : readBatchSize(values['batch-size']);
  if (values.id !== undefined) {
    if (batchSize !== undefined)
      throw new CliError('--batch-size goes with --source or --failed', replayUsage);
    return { request: { mode: 'id', id: values.id } };
  }
  const withBatch = batchSize === undefined ? {} : { batchSize };
  if (values.source === undefined) return { request: { mode: 'failed' }, ...withBatch };
  if (values.since === undefined) throw new CliError('--source needs --since', replayUsage);
  const since = readTime('--since', values.since);
  const until = values.until === undefined ? undefined : readTime('--until', values.until);
  if (until !== undefined && until.getTime() <= since.getTime()) {
    throw new CliError('--until must be later than --since');
  }
  return {
    request: { mode: 'range', source: values.source, since, ...(until === undefined ? {} : { until }) },
    ...withBatch,
  };
}

function cliErrorFor(error: ReplayError): Error {
  switch (error.code) {
    case 'invalid_input':
      return new CliError(error.message, replayUsage);
    case 'not_found':
      return error;
  }
}

/** The URL without its password, for an error message. */
function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
