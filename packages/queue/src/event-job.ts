import { createHash } from 'node:crypto';
import { z } from 'zod';

/** An accepted delivery as it travels through Redis. Read back with this schema, never trusted as-is. */
export const eventJobSchema = z.object({
  source: z.string().min(1),
  eventId: z.string().min(1),
  eventType: z.string().nullable(),
  /**
   * Where eventType is null: the top-level field of the JSON body holding the type, read by the
   * database as it stores the payload (the scheme had no reason to parse the body at ingest).
   */
  eventTypeField: z.string().min(1).max(128).optional(),
  /** Request headers worth keeping, lower-cased, credentials removed. */
  headers: z.record(z.string(), z.string()),
  /** The raw body, byte-exact (ingest only accepts UTF-8 bodies). */
  body: z.string(),
  /**
   * Hex SHA-256 of what the signature covers, for a delivery whose event id is not signed: the
   * database stores a source's content once, so a captured delivery resent under a fresh id is a
   * duplicate. Absent where the id is signed, or the source turned `dedupeByContent` off.
   */
  contentSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** When ingest accepted the delivery, in milliseconds since the epoch. */
  receivedAt: z.number().int().nonnegative(),
  /**
   * Set on an operator's replay of a stored event: the worker runs the source's handler again
   * although the row exists, and moves `processed_at`.
   */
  replay: z.boolean().optional(),
});
export type EventJob = z.infer<typeof eventJobSchema>;

const SAFE_ID = /^[A-Za-z0-9._~!$&'()*+,;=@-]+$/;
const MAX_JOB_ID_LENGTH = 200;

/** A fresh jobId for replaying an event: never the original's, so BullMQ does not dedupe it away. */
export function replayJobIdFor(source: string, eventId: string, at: number = Date.now()): string {
  return `${jobIdFor(source, eventId)}/replay-${at}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The BullMQ jobId of an event: unique per (source, event id), free of ":" (BullMQ reserves it) and
 * never an integer. Readable where the id allows it, a digest where it is long or unusual.
 */
export function jobIdFor(source: string, eventId: string): string {
  // Source names cannot contain "/", so the separator keeps the mapping one-to-one.
  const readable = `${source}/${eventId}`;
  if (SAFE_ID.test(eventId) && readable.length <= MAX_JOB_ID_LENGTH) return readable;
  const digest = createHash('sha256').update(eventId).digest('base64url');
  // "/" never appears in a readable event id, so "//" marks the digest form and cannot collide.
  return `${source}//${digest}`;
}
