import { sourceNameSchema } from '@inlet/config';
import type { EventCursor, EventSearch } from '@inlet/db';
import { parseTime } from '@inlet/replay';
import { z } from 'zod';
import { DashboardError } from './errors.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// received_at as PostgreSQL and CockroachDB print a timestamptz: `2026-11-22 10:00:00.123456+00`.
const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2})(?::?(\d{2})){0,2})?$/;

/**
 * True when the database can read `text` back: a forged cursor with month 13, 31 February, year 0
 * or a zone of +99 would otherwise fail the query (a 500) instead of the request (a 400).
 */
function readableTimestamp(text: string): boolean {
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) return false;
  const part = (index: number) => Number(match[index] ?? 0);
  const [year, month, day] = [part(1), part(2), part(3)];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1900 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    part(4) <= 23 &&
    part(5) <= 59 &&
    part(6) <= 59 &&
    part(7) <= 15 &&
    part(8) <= 59
  );
}

/** A row id or a retry action id: both are UUIDs. */
export const uuidSchema = z.string().regex(UUID_TEXT, 'must be a UUID');

const cursorSchema = z.tuple([z.string().refine(readableTimestamp), z.string().regex(UUID_TEXT)]);

/** An opaque, URL-safe token for "the page after this row". */
export function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify([cursor.receivedAt, cursor.id])).toString('base64url');
}

export function decodeCursor(token: string): EventCursor | null {
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')));
    return parsed.success ? { receivedAt: parsed.data[0], id: parsed.data[1] } : null;
  } catch {
    return null;
  }
}

// Forms send empty fields as "": they mean "not given".
const blankAsUnset = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const text = (max: number) => z.preprocess(blankAsUnset, z.string().trim().max(max).optional());

const time = z.preprocess(
  blankAsUnset,
  z
    .string()
    .max(64)
    .transform((value, context) => {
      try {
        return parseTime(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid' });
        return z.NEVER;
      }
    })
    .optional(),
);

export const searchQuerySchema = z.object({
  source: z.preprocess(blankAsUnset, sourceNameSchema.optional()),
  eventId: text(1024),
  eventType: text(256),
  since: time,
  until: time,
  limit: z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ message: `must be a whole number from 1 to ${MAX_LIMIT}` })
      .int(`must be a whole number from 1 to ${MAX_LIMIT}`)
      .min(1, `must be a whole number from 1 to ${MAX_LIMIT}`)
      .max(MAX_LIMIT, `must be a whole number from 1 to ${MAX_LIMIT}`)
      .default(DEFAULT_LIMIT),
  ),
  cursor: z.preprocess(
    blankAsUnset,
    z
      .string()
      .max(512)
      .transform((value, context) => {
        const cursor = decodeCursor(value);
        if (cursor === null) {
          context.addIssue({ code: 'custom', message: 'is not a cursor this dashboard gave out' });
          return z.NEVER;
        }
        return cursor;
      })
      .optional(),
  ),
});

export interface SearchQuery {
  readonly search: EventSearch;
  readonly limit: number;
  readonly after: EventCursor | undefined;
  /** The filters as given, for links to the next page and for the form. */
  readonly raw: Readonly<Record<'source' | 'eventId' | 'eventType' | 'since' | 'until', string>>;
}

/** Reads and checks the search parameters of a query string; a bad one is a 400 naming it. */
export function parseSearchQuery(query: Readonly<Record<string, string | undefined>>): SearchQuery {
  const result = searchQuerySchema.safeParse(query);
  if (!result.success) throw invalidRequest(result.error);
  const { source, eventId, eventType, since, until, limit, cursor } = result.data;
  if (since !== undefined && until !== undefined && until.getTime() <= since.getTime()) {
    throw new DashboardError('invalid_request', 'until: must be later than since');
  }
  const raw = (name: string) => (query[name] ?? '').trim();
  return {
    search: { source, eventId, eventType, since, until },
    limit,
    after: cursor,
    raw: {
      source: raw('source'),
      eventId: raw('eventId'),
      eventType: raw('eventType'),
      since: raw('since'),
      until: raw('until'),
    },
  };
}

/** A 400 that names the first bad field, like start-up errors do. */
export function invalidRequest(error: z.ZodError): DashboardError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || 'request';
  return new DashboardError('invalid_request', `${field}: ${issue?.message ?? 'invalid'}`);
}
