import { databaseEnv, databaseTlsFromEnv, parseEnv } from '@inlet/config';
import { countEventsToPrune, createSql, pruneEvents, sslOptionsFor } from '@inlet/db';
import { readBatchSize, readOptions, readTime } from './arguments.js';
import { CliError } from './cli-error.js';

export const pruneUsage = `Usage: inlet prune --before TIME [--source NAME] [--batch-size N] [--dry-run]

Deletes the stored events received before TIME, oldest first, a batch per transaction: run it on a
schedule to keep the events table to a retention period. Safe to stop and run again. A deleted
event can no longer be replayed.

Options:
  --before TIME      ISO-8601 with a zone (2026-08-24T00:00:00Z) or a duration ago (90d, 12w)
  --source NAME      only this source's events
  --batch-size N     rows per transaction (default 1000)
  --dry-run          say how many events would go, and delete nothing

Environment: DATABASE_URL, DATABASE_TLS_CA_FILE. The role needs DELETE on webhook_events.`;

const pruneOptions = {
  before: { type: 'string' },
  source: { type: 'string' },
  'batch-size': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

/** Prunes what the arguments name; `progress` hears of each batch. Answers the line that says what was done. */
export async function prune(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  progress: (line: string) => void = () => {},
): Promise<string> {
  const values = readOptions(argv, pruneOptions, pruneUsage);
  if (values.before === undefined) throw new CliError('--before is required', pruneUsage);
  const before = readBefore(values.before);
  const batchSize = values['batch-size'] === undefined ? undefined : readBatchSize(values['batch-size']);
  const selection = { before, ...(values.source === undefined ? {} : { source: values.source }) };
  const what = `events${values.source === undefined ? '' : ` of source ${values.source}`} received before ${before.toISOString()}`;

  const settings = parseEnv(databaseEnv, env);
  const sql = createSql(settings.DATABASE_URL, {
    max: 1,
    application_name: 'inlet-cli',
    ssl: sslOptionsFor(settings.DATABASE_URL, databaseTlsFromEnv(settings)?.ca),
  });
  try {
    if (values['dry-run'] === true) {
      return `would delete ${await countEventsToPrune(sql, selection)} ${what}`;
    }
    const deleted = await pruneEvents(sql, {
      ...selection,
      ...(batchSize === undefined ? {} : { batchSize }),
      onBatch: (_count, total) => progress(`deleted ${total} so far`),
    });
    return `deleted ${deleted} ${what}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function readBefore(text: string): Date {
  const before = readTime('--before', text);
  if (before.getTime() > Date.now()) {
    throw new CliError('--before must not be in the future: that would delete events still arriving');
  }
  return before;
}
