import { z } from 'zod';

const wholeNumber = (max: number, unit: string) =>
  z
    .number({ message: `must be a whole number of ${unit}` })
    .int(`must be a whole number of ${unit}`)
    .min(1, `must be at least 1`)
    .max(max, `must be at most ${max}`);

/** `points` deliveries per `durationSeconds`, per source, shared by every ingest instance. */
export const rateLimitSchema = z.strictObject({
  points: wholeNumber(1_000_000_000, 'deliveries'),
  durationSeconds: wholeNumber(24 * 3600, 'seconds'),
});
export type RateLimit = z.infer<typeof rateLimitSchema>;

/** A rate limit written as JSON in one environment variable (`INLET_RATE_LIMIT`). */
export const rateLimitFromEnv = z
  .string()
  .transform((text, ctx): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON such as {"points":1000,"durationSeconds":1}' });
      return z.NEVER;
    }
  })
  .pipe(rateLimitSchema);
