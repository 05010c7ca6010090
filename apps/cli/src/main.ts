import { ConfigError } from '@inlet/config';
import { CliError } from './cli-error.js';
import { runMigrate } from './migrate.js';
import { prune, pruneUsage } from './prune.js';
import { replay, replayUsage } from './replay.js';
import { send, sendUsage } from './send.js';
import { sourcesCheck } from './sources-check.js';

const usage = `Usage: inlet <command> [options]

Commands:
  send --source NAME [--data JSON | --file PATH]   sign a payload for a source and post it
  replay --id UUID                                 enqueue a stored event again (its handler runs again)
  replay --source NAME --since TIME [--until TIME] the same for every event of a source in a time range
  replay --failed                                  move every failed job back to waiting
  migrate                                          create or upgrade the database schema
  prune --before TIME [--source NAME]              delete the stored events received before TIME
  sources check [FILE]                             validate a sources file and list its sources

Run "inlet <command> --help" for a command's options.`;

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(usage);
      return 0;
    case 'send': {
      if (wantsHelp) {
        console.log(sendUsage);
        return 0;
      }
      const result = await send(rest);
      console.log(`${result.status} ${result.body}`);
      return result.status >= 200 && result.status < 300 ? 0 : 1;
    }
    case 'replay':
      if (wantsHelp) {
        console.log(replayUsage);
        return 0;
      }
      console.log(await replay(rest));
      return 0;
    case 'migrate':
      for (const line of await runMigrate()) console.log(line);
      return 0;
    case 'prune':
      if (wantsHelp) {
        console.log(pruneUsage);
        return 0;
      }
      console.log(await prune(rest, process.env, (line) => console.error(line)));
      return 0;
    case 'sources': {
      const [sub, file, ...extra] = rest;
      if (sub !== 'check' || extra.length > 0 || wantsHelp) {
        throw new CliError('unknown sources command', 'Usage: inlet sources check [FILE]');
      }
      for (const line of await sourcesCheck(file ?? process.env.INLET_SOURCES ?? './inlet.sources.json')) {
        console.log(line);
      }
      return 0;
    }
    default:
      throw new CliError(`unknown command "${command}"`, usage);
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (
      error instanceof CliError ||
      error instanceof ConfigError ||
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      console.error(`inlet: ${(error as Error).message}`);
      if (error instanceof CliError && error.usage) console.error(`\n${error.usage}`);
      process.exitCode = 2;
      return;
    }
    console.error(`inlet: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
