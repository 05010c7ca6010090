import { z } from 'zod';
import type { Queryable } from './client.js';

/** A row of `webhook_events` as read back. */
export const storedEventSchema = z.object({
  id: z.uuid(),
  source: z.string(),
  event_id: z.string(),
  event_type: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
  /** Parsed by postgres.js with JSON.parse: numbers beyond 2^53 lose digits (`payload::text` keeps them). */
  payload: z.unknown().nullable(),
  received_at: z.date(),
  processed_at: z.date(),
});
export type StoredEvent = z.infer<typeof storedEventSchema>;

export interface NewEvent {
  source: string;
  eventId: string;
  eventType: string | null;
  /** Where eventType is null: the payload's top-level field whose string value is the type. */
  eventTypeField?: string | null | undefined;
  headers: Record<string, string>;
  /** The raw body exactly as received. */
  body: string;
  /** JSON text for the `payload` column (see `payloadJsonFor`), parsed by the database itself. */
  payloadJson: string | null;
  receivedAt: Date;
  /**
   * Hex SHA-256 of what the signature covered, for an event whose id is not signed: a second event
   * of the source with the same content is a replay, stored no more than a second copy of an id.
   */
  contentSha256?: string | null | undefined;
}

export interface InsertEventResult {
  /** False when `(source, event_id)` or `(source, content_sha256)` was already stored: a duplicate. */
  inserted: boolean;
  /** The new row's id, null for a duplicate. */
  id: string | null;
}

// Statements hold a power-of-two number of rows, up to this many: a batch of any size then uses a
// few statement shapes that each connection prepares once, where one statement per batch size would
// make PostgreSQL parse and plan a new statement of thousands of parameters for nearly every batch.
// 10 parameters a row keeps the largest far below the protocol's 65535-parameter limit.
const MAX_ROWS_PER_STATEMENT = 256;

/** Splits `count` rows into power-of-two chunk sizes, largest first: 300 is 256 + 32 + 8 + 4. */
export function statementSizes(count: number): number[] {
  const sizes: number[] = [];
  let left = count;
  while (left > 0) {
    let size = MAX_ROWS_PER_STATEMENT;
    while (size > left) size /= 2;
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/** Stores one event unless `(source, event_id)` is already there. */
export async function insertEvent(sql: Queryable, event: NewEvent): Promise<InsertEventResult> {
  const [result] = await insertEvents(sql, [event]);
  return result ?? { inserted: false, id: null };
}

/**
 * Stores several events with multi-row inserts, answering for each in input order. Within the
 * batch an event is a duplicate of an earlier one with its `(source, eventId)` or its
 * `(source, contentSha256)`, as if they had been inserted one by one, whichever database runs it.
 */
export async function insertEvents(
  sql: Queryable,
  events: readonly NewEvent[],
): Promise<InsertEventResult[]> {
  const results: InsertEventResult[] = events.map(() => ({ inserted: false, id: null }));
  const firstIndexByKey = new Map<string, number>();
  const contents = new Set<string>();
  events.forEach((event, index) => {
    const key = eventKey(event.source, event.eventId);
    if (firstIndexByKey.has(key)) return;
    // An event that loses to an earlier copy of its content claims nothing: a later event with its
    // id and other content is new, as it would be were the two inserted one after the other.
    if (event.contentSha256) {
      const content = eventKey(event.source, event.contentSha256);
      if (contents.has(content)) return;
      contents.add(content);
    }
    firstIndexByKey.set(key, index);
  });
  const unique = [...firstIndexByKey.values()];

  const chunks: NewEvent[][] = [];
  let start = 0;
  for (const size of statementSizes(unique.length)) {
    chunks.push(unique.slice(start, start + size).flatMap((index) => events[index] ?? []));
    start += size;
  }
  // Sent together: postgres.js pipelines them on the connection, so a batch costs one round trip.
  const answers = await Promise.all(chunks.map((chunk) => insertChunk(sql, chunk)));
  for (const inserted of answers) {
    for (const row of inserted) {
      const index = firstIndexByKey.get(eventKey(row.source, row.event_id));
      if (index !== undefined) results[index] = { inserted: true, id: row.id };
    }
  }
  return results;
}

function insertChunk(sql: Queryable, chunk: readonly NewEvent[]) {
  const rows = chunk.map((event, i) => {
    // A JSON body is its own payload: sent once and cast by the database, which halves the bytes
    // each event costs on the wire (payloadJsonFor hands back the body itself in that case).
    const payloadIsBody = event.payloadJson === event.body;
    const payload = payloadIsBody ? null : event.payloadJson;
    const typeField = event.eventType === null ? (event.eventTypeField ?? null) : null;
    const content = event.contentSha256 ?? null;
    return i === 0
      ? sql`(${event.source}::text, ${event.eventId}::text, ${event.eventType}::text, ${typeField}::text,
          ${sql.json(event.headers)}::jsonb, ${event.body}::text, ${payloadIsBody}::bool, ${payload}::text,
          ${event.receivedAt}::timestamptz, ${content}::text)`
      : sql`,(${event.source}, ${event.eventId}, ${event.eventType}, ${typeField}, ${sql.json(event.headers)},
          ${event.body}, ${payloadIsBody}, ${payload}, ${event.receivedAt}, ${content})`;
  });
  // `text` then `jsonb`, never a jsonb-typed parameter: postgres.js would JSON.stringify the text
  // again and store a JSON string scalar. The payload is cast in a subquery that OFFSET 0 keeps
  // from being flattened, so the event type is read from the parsed payload rather than parsing
  // the body a second time. ON CONFLICT without a target: a row that meets either unique index,
  // (source, event_id) or (source, content_sha256), is a duplicate and inserts nothing.
  return sql<{ id: string; source: string; event_id: string }[]>`
    INSERT INTO webhook_events
      (source, event_id, event_type, headers, body, payload, received_at, content_sha256)
    SELECT source, event_id,
      COALESCE(event_type,
        CASE WHEN jsonb_typeof(payload -> type_field) = 'string' THEN payload ->> type_field END),
      headers, body, payload, received_at, content_sha256
    FROM (
      SELECT source, event_id, event_type, type_field, headers, body,
        CASE WHEN payload_is_body THEN body::jsonb ELSE payload::jsonb END AS payload, received_at,
        content_sha256
      FROM (VALUES ${rows})
        AS v (source, event_id, event_type, type_field, headers, body, payload_is_body, payload,
          received_at, content_sha256)
      OFFSET 0
    ) AS parsed
    ON CONFLICT DO NOTHING
    RETURNING id, source, event_id`;
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The stored event with this id, or null (also for a string that is no UUID at all). */
export async function getEvent(sql: Queryable, id: string): Promise<StoredEvent | null> {
  if (!UUID_TEXT.test(id)) return null;
  const [row] = await sql`
    SELECT id, source, event_id, event_type, headers, body, payload, received_at, processed_at
    FROM webhook_events
    WHERE id = ${id}`;
  return row === undefined ? null : storedEventSchema.parse(row);
}

/** How many events are stored, for one source or in all. */
export async function countEvents(sql: Queryable, source?: string): Promise<number> {
  const filter = source === undefined ? sql`` : sql`WHERE source = ${source}`;
  const [row] = await sql<
    { count: string | number }[]
  >`SELECT count(*) AS count FROM webhook_events ${filter}`;
  // count(*) is a bigint, which postgres.js returns as a string.
  return Number(row?.count ?? 0);
}

function eventKey(source: string, eventId: string): string {
  return JSON.stringify([source, eventId]);
}

/** What a range replay reads of a row, plus received_at as the database's own text for its cursor. */
const replayPageRowSchema = storedEventSchema
  .pick({
    id: true,
    source: true,
    event_id: true,
    event_type: true,
    headers: true,
    body: true,
    received_at: true,
  })
  .extend({ cursor_at: z.string() });
export type ReplayPageRow = z.infer<typeof replayPageRowSchema>;

/** Where the next page starts: after this row's `cursor_at` and `id`. */
export interface ReplayPageCursor {
  readonly at: string;
  readonly id: string;
}

export interface ReplayPageQuery {
  readonly source: string;
  /** Inclusive. */
  readonly since: Date;
  /** Exclusive. */
  readonly until: Date;
  readonly after?: ReplayPageCursor | undefined;
  readonly limit: number;
}

/**
 * One page of a source's events received in [since, until), oldest first, keyed on
 * (received_at, id). The cursor keeps received_at as the database's own text, sent back as text
 * (postgres.js would turn a timestamptz parameter into a JS Date): a Date cuts microseconds off,
 * and the next page would start before the row the last one ended on.
 */
export async function readReplayPage(sql: Queryable, query: ReplayPageQuery): Promise<ReplayPageRow[]> {
  const { after } = query;
  const keyset =
    after === undefined
      ? sql``
      : sql`AND (received_at, id) > (${after.at}::text::timestamptz, ${after.id}::uuid)`;
  const rows = await sql<Record<string, unknown>[]>`
    SELECT id, source, event_id, event_type, headers, body, received_at, received_at::text AS cursor_at
    FROM webhook_events
    WHERE source = ${query.source} AND received_at >= ${query.since} AND received_at < ${query.until} ${keyset}
    ORDER BY received_at, id
    LIMIT ${query.limit}`;
  return rows.map((raw) => replayPageRowSchema.parse(raw));
}
