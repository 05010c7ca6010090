import { z } from 'zod';
import type { Queryable } from './client.js';
import { storedEventSchema } from './events.js';

/** What to look for; every field is optional and they combine with AND. */
export interface EventSearch {
  readonly source?: string | undefined;
  readonly eventId?: string | undefined;
  readonly eventType?: string | undefined;
  /** Inclusive. */
  readonly since?: Date | undefined;
  /** Exclusive. */
  readonly until?: Date | undefined;
}

/**
 * Where the next page starts: the last row of this one. `receivedAt` is the database's own text for
 * the timestamp, since a JS Date drops microseconds and the next page would repeat rows.
 */
export interface EventCursor {
  readonly receivedAt: string;
  readonly id: string;
}

/** A row of a search result: everything but headers, body and payload, which can be large. */
export const eventSummarySchema = z.object({
  id: z.uuid(),
  source: z.string(),
  event_id: z.string(),
  event_type: z.string().nullable(),
  received_at: z.date(),
  processed_at: z.date(),
  cursor_at: z.string(),
});
export type EventSummary = z.infer<typeof eventSummarySchema>;

export interface EventPage {
  readonly events: EventSummary[];
  /** Null on the last page. */
  readonly next: EventCursor | null;
}

/**
 * Stored events matching `search`, newest first (ties broken by id), `limit` at a time. Pages are
 * walked by keyset on (received_at, id), never OFFSET, so a deep page costs what the first does.
 * The order matches the `(received_at DESC, id)` index, so no sort is needed.
 */
export async function searchEvents(
  sql: Queryable,
  search: EventSearch,
  options: { limit: number; after?: EventCursor | undefined },
): Promise<EventPage> {
  const { after, limit } = options;
  const bySource = search.source === undefined ? sql`` : sql`AND source = ${search.source}`;
  const byEventId = search.eventId === undefined ? sql`` : sql`AND event_id = ${search.eventId}`;
  const byEventType = search.eventType === undefined ? sql`` : sql`AND event_type = ${search.eventType}`;
  const since = search.since === undefined ? sql`` : sql`AND received_at >= ${search.since}`;
  const until = search.until === undefined ? sql`` : sql`AND received_at < ${search.until}`;
  // Written so that `received_at <=` bounds the index scan; the rest only filters the ties.
  const page =
    after === undefined
      ? sql``
      : sql`AND received_at <= ${after.receivedAt}::text::timestamptz
            AND (received_at < ${after.receivedAt}::text::timestamptz OR id > ${after.id}::uuid)`;
  const rows = await sql<Record<string, unknown>[]>`
    SELECT id, source, event_id, event_type, received_at, processed_at, received_at::text AS cursor_at
    FROM webhook_events
    WHERE true ${bySource} ${byEventId} ${byEventType} ${since} ${until} ${page}
    ORDER BY received_at DESC, id ASC
    LIMIT ${limit + 1}`;
  const events = rows.slice(0, limit).map((row) => eventSummarySchema.parse(row));
  const last = events.at(-1);
  const next = rows.length > limit && last !== undefined ? { receivedAt: last.cursor_at, id: last.id } : null;
  return { events, next };
}

const sourceCountSchema = z.object({
  source: z.string(),
  // count() is a bigint, which postgres.js returns as a string.
  last_hour: z.coerce.number().int(),
  last_day: z.coerce.number().int(),
});

export interface SourceCount {
  readonly source: string;
  readonly lastHour: number;
  readonly lastDay: number;
}

/**
 * Events received per source in the hour and the day before `now`. One range scan of the
 * received_at index over the last day, whatever the table's size.
 */
export async function countRecentEventsBySource(sql: Queryable, now: Date): Promise<SourceCount[]> {
  const hourAgo = new Date(now.getTime() - 3_600_000);
  const dayAgo = new Date(now.getTime() - 86_400_000);
  const rows = await sql<Record<string, unknown>[]>`
    SELECT source,
      count(CASE WHEN received_at >= ${hourAgo} THEN 1 END) AS last_hour,
      count(*) AS last_day
    FROM webhook_events
    WHERE received_at >= ${dayAgo} AND received_at <= ${now}
    GROUP BY source
    ORDER BY source`;
  return rows.map((raw) => {
    const row = sourceCountSchema.parse(raw);
    return { source: row.source, lastHour: row.last_hour, lastDay: row.last_day };
  });
}

/** A stored event as read for display: body and payload text cut, with their full lengths. */
const eventViewRowSchema = storedEventSchema.extend({
  body_chars: z.coerce.number().int(),
  payload: z.string().nullable(),
  payload_chars: z.coerce.number().int().nullable(),
});

/** A text field of an event as read for display: at most `maxChars` of it, and its full length. */
export interface BoundedText {
  readonly text: string;
  /** The whole field's length in characters; more than `text` holds when it was cut. */
  readonly chars: number;
  readonly truncated: boolean;
}

/** One stored event as the dashboard shows it, with body and payload cut to a bound. */
export interface EventView {
  readonly id: string;
  readonly source: string;
  readonly event_id: string;
  readonly event_type: string | null;
  readonly headers: Record<string, string>;
  readonly received_at: Date;
  readonly processed_at: Date;
  /** The raw body. */
  readonly body: BoundedText;
  /** The payload as JSON text (indented when `pretty`), or null when the body was neither JSON nor form fields. */
  readonly payload: BoundedText | null;
}

export interface EventViewOptions {
  /** Characters of the body and of the payload text read at most; the rest stays in the database. */
  readonly maxChars: number;
  /** `pretty`: indented by the database (`jsonb_pretty`); `compact`: `payload::text`. */
  readonly payload: 'pretty' | 'compact';
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One event for display, or null. The payload's text is made by the database, so numbers beyond
 * 2^53 keep every digit; it can be far longer than the body (`1e131071` is 9 bytes and 131,072
 * digits, deep nesting indents every line), so only a prefix of it and of the body crosses the
 * wire, with their lengths to say what was cut.
 */
export async function getEventView(
  sql: Queryable,
  id: string,
  options: EventViewOptions,
): Promise<EventView | null> {
  if (!UUID_TEXT.test(id)) return null;
  const max = Math.max(0, Math.floor(options.maxChars));
  const payloadText = options.payload === 'pretty' ? sql`jsonb_pretty(payload)` : sql`payload::text`;
  // OFFSET 0 keeps the subquery whole, so the payload's text is made once for both its uses.
  const [row] = await sql<Record<string, unknown>[]>`
    SELECT id, source, event_id, event_type, headers,
      left(body, ${max}) AS body, length(body) AS body_chars,
      left(payload_text, ${max}) AS payload, length(payload_text) AS payload_chars,
      received_at, processed_at
    FROM (
      SELECT id, source, event_id, event_type, headers, body, ${payloadText} AS payload_text,
        received_at, processed_at
      FROM webhook_events
      WHERE id = ${id}
      OFFSET 0
    ) AS event`;
  if (row === undefined) return null;
  const parsed = eventViewRowSchema.parse(row);
  const bounded = (text: string, chars: number): BoundedText => ({ text, chars, truncated: chars > max });
  return {
    id: parsed.id,
    source: parsed.source,
    event_id: parsed.event_id,
    event_type: parsed.event_type,
    headers: parsed.headers,
    received_at: parsed.received_at,
    processed_at: parsed.processed_at,
    body: bounded(parsed.body, parsed.body_chars),
    payload:
      parsed.payload === null || parsed.payload_chars === null
        ? null
        : bounded(parsed.payload, parsed.payload_chars),
  };
}
