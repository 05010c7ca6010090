// `npm run bench` runs this with REDIS_URL and DATABASE_URL; see options.ts for the flags.
import os from 'node:os';
import { ConfigError } from '@inlet/config';
import { runBench } from './bench.js';
import { BenchUsageError, parseBenchOptions, USAGE } from './options.js';
import { formatCpu, formatTable, formatTargets } from './report.js';

const say = (message: string) => process.stdout.write(`${message}\n`);
// Ctrl-C stops the phase under way; the run's database and queue are still removed.
const abort = new AbortController();

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    say(USAGE);
    return 0;
  }
  const options = parseBenchOptions(argv);
  process.once('SIGINT', () => abort.abort(new Error('interrupted')));
  process.once('SIGTERM', () => abort.abort(new Error('interrupted')));
  say(
    `bench: ${options.groups.join(', ')}${options.quick ? ' (--quick)' : ''}; ` +
      `${options.events.toLocaleString('en-US')} events per drain; ` +
      `Redis ${options.redisUrl}, PostgreSQL ${new URL(options.databaseUrl).host}`,
  );
  const [load] = os.loadavg();
  const cores = os.availableParallelism();
  if (load !== undefined && load > cores / 2) {
    say(
      `bench: the machine is busy (load average ${load.toFixed(1)} on ${cores} cores): figures will be low and noisy`,
    );
  }
  const { results, rows } = await runBench({
    ...options,
    log: (message) => say(`bench: ${message}`),
    signal: abort.signal,
  });
  say('');
  say(formatTable(rows));
  say('');
  say(formatCpu(rows, results.cpu));
  say('');
  say(formatTargets(results.targets));
  for (const note of results.notes) say(`note: ${note}`);
  say(
    `\n${results.machine.cpus} CPUs (${results.machine.cpu_model}), Node ${results.machine.node}, ` +
      `Redis ${results.machine.redis}, PostgreSQL ${results.machine.postgres}`,
  );
  say(`results: ${options.outFile}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (abort.signal.aborted) {
      process.stderr.write('bench: interrupted\n');
      process.exit(130);
    }
    const message =
      error instanceof BenchUsageError || error instanceof ConfigError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`bench: ${message}\n`);
    process.exit(1);
  },
);
