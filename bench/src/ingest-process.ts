import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueueNames } from '@inlet/queue';
import { BENCH_SOURCE } from './event-fixtures.js';
import { ServerProcess, ServerStartError } from './server-process.js';

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const defaultIngestScript = path.resolve(packageRoot, '..', 'apps', 'ingest', 'dist', 'main.js');

/** The variable the sources file names for the secret: secrets stay out of the file, as in production. */
export const SECRET_VARIABLE = 'INLET_BENCH_SECRET';
/** High enough never to refuse a delivery of the bench: the limiter's cost is measured, not its verdict. */
const UNLIMITED = { points: 1_000_000, durationSeconds: 1 };
const UNBOUNDED_BACKLOG = '1000000000';

/**
 * Settings of ingest the bench needs off the defaults, each dropped when the ingest under test does
 * not accept it yet (an older build): the run then still measures it, and says what it left out.
 */
export interface IngestSettings {
  /** The source's own `rateLimit` in the sources file. */
  sourceRateLimit: boolean;
  /** `INLET_RATE_LIMIT`, the default of every source. */
  defaultRateLimit: boolean;
  /** `INLET_MAX_BACKLOG`. */
  maxBacklog: boolean;
  /** Why a setting was dropped, for the results. */
  notes: string[];
}

export function defaultIngestSettings(): IngestSettings {
  return { sourceRateLimit: true, defaultRateLimit: true, maxBacklog: true, notes: [] };
}

export interface IngestLaunch {
  readonly label: string;
  readonly script: string;
  readonly cwd: string;
  /** Where the sources file goes (rewritten at each start). */
  readonly sourcesFile: string;
  readonly secret: string;
  readonly redisUrl: string;
  readonly queue: QueueNames;
  readonly port: number;
  /** Its log (pino at info, one line per delivery), as an operator would keep it. */
  readonly logFile: string;
  readonly baseEnv: NodeJS.ProcessEnv;
  readonly execArgv?: readonly string[];
  readonly signal?: AbortSignal;
  /** Shared by every start of the run, so a setting dropped once is not tried again. */
  readonly settings: IngestSettings;
}

/** The sources file of the run: one Standard Webhooks source, with every option that costs something on. */
export function benchSourcesFile(settings: Pick<IngestSettings, 'sourceRateLimit'>): string {
  const source = {
    provider: 'standard-webhooks',
    secrets: [`env:${SECRET_VARIABLE}`],
    toleranceSeconds: 300,
    ...(settings.sourceRateLimit ? { rateLimit: UNLIMITED } : {}),
  };
  return `${JSON.stringify({ sources: { [BENCH_SOURCE]: source } }, null, 2)}\n`;
}

/** Which setting a start-up failure names, if it is one the bench can do without. */
function refusedSetting(output: string): keyof Omit<IngestSettings, 'notes'> | undefined {
  if (/rateLimit/.test(output)) return 'sourceRateLimit';
  if (/INLET_RATE_LIMIT/.test(output)) return 'defaultRateLimit';
  if (/INLET_MAX_BACKLOG/.test(output)) return 'maxBacklog';
  return undefined;
}

const dropNotes: Record<keyof Omit<IngestSettings, 'notes'>, string> = {
  sourceRateLimit: 'ingest refused the source option rateLimit: measured without a per-source rate limit',
  defaultRateLimit: 'ingest refused INLET_RATE_LIMIT: measured with its default rate limit',
  maxBacklog: 'ingest refused INLET_MAX_BACKLOG: measured with its default backlog bound',
};

/**
 * The real ingest (`apps/ingest/dist/main.js`) as operators run it: configured by environment and a
 * sources file, signature verification, rate limiting, metrics and logging at info all on.
 */
export async function startIngest(launch: IngestLaunch): Promise<ServerProcess> {
  const { settings } = launch;
  for (;;) {
    await writeFile(launch.sourcesFile, benchSourcesFile(settings));
    try {
      return await ServerProcess.start({
        label: launch.label,
        script: launch.script,
        cwd: launch.cwd,
        port: launch.port,
        readyPath: '/readyz',
        stdoutFile: launch.logFile,
        ...(launch.execArgv ? { execArgv: launch.execArgv } : {}),
        ...(launch.signal ? { signal: launch.signal } : {}),
        env: {
          ...launch.baseEnv,
          PORT: String(launch.port),
          REDIS_URL: launch.redisUrl,
          INLET_QUEUE: launch.queue.name,
          INLET_QUEUE_PREFIX: launch.queue.prefix,
          INLET_SOURCES: launch.sourcesFile,
          [SECRET_VARIABLE]: launch.secret,
          LOG_LEVEL: 'info',
          ...(settings.defaultRateLimit ? { INLET_RATE_LIMIT: JSON.stringify(UNLIMITED) } : {}),
          ...(settings.maxBacklog ? { INLET_MAX_BACKLOG: UNBOUNDED_BACKLOG } : {}),
        },
      });
    } catch (error) {
      const refused = error instanceof ServerStartError ? refusedSetting(error.output) : undefined;
      if (refused === undefined || !settings[refused]) throw error;
      settings[refused] = false;
      settings.notes.push(dropNotes[refused]);
    }
  }
}
