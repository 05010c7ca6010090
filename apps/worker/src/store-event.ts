import { type EventJob, eventJobSchema } from '@inlet/queue';
import { UnrecoverableError } from 'bullmq';

/** Reads a job's data back from Redis; data that fails its schema can never be stored. */
export function parseEventJob(data: unknown): EventJob {
  const parsed = eventJobSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnrecoverableError(
      `invalid event in queue: ${issue?.path.join('.') || 'data'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
