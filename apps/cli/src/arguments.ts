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
