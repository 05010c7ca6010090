import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseTime, ReplayError } from '@inlet/replay';
import { CliError } from './cli-error.js';

/** An instant given to `option`: ISO-8601 with a zone, or a duration ago (see parseTime). */
export function readTime(option: string, text: string): Date {
  try {
    return parseTime(text);
  } catch (error) {
    throw error instanceof ReplayError ? new CliError(`${option}: ${error.message}`) : error;
  }
}

/** `--batch-size`: a whole number from 1 to 10,000. */
export function readBatchSize(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 10_000) {
    throw new CliError('--batch-size must be a whole number from 1 to 10000');
  }
  return Number(text);
}

type ParsedOptions<T extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>
>['values'];

/** A command's options (no positionals), an unknown or malformed one refused with the command's usage. */
export function readOptions<const T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  usage: string,
): ParsedOptions<T> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new CliError((error as Error).message, usage);
  }
}
