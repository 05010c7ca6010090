import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRecentEventsBySource, type EventCursor, getEventView, searchEvents } from './browse-events.js';
import type { Sql } from './client.js';
import { insertEvents, type NewEvent } from './events.js';
import { migrate } from './migrate.js';
import { TestDatabase } from './test-database.js';

let database: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  database = await TestDatabase.create();
  sql = database.connect();
  await migrate(sql);
});

afterAll(async () => {
  await database?.drop();
});

function event(source: string, eventId: string, receivedAt: Date, body = '{}'): NewEvent {
  return { source, eventId, eventType: 't', headers: {}, body, payloadJson: body, receivedAt };
}

describe('searchEvents', () => {
  it('walks rows newest first by keyset, across ties a JS Date cannot tell apart', async () => {
    const at = new Date('2022-01-01T00:00:00.000Z');
    await insertEvents(
      sql,
      Array.from({ length: 9 }, (_, i) => event('walk', `w-${i}`, at)),
    );
    // Three pairs of rows 1 µs apart: the same Date, distinct timestamps in the database.
    await sql`UPDATE webhook_events SET received_at = received_at + interval '1 microsecond' * (right(event_id, 1)::int % 3)
      WHERE source = 'walk'`;
    const all = await sql<{ id: string }[]>`
      SELECT id FROM webhook_events WHERE source = 'walk' ORDER BY received_at DESC, id ASC`;

    const seen: string[] = [];
    let after: EventCursor | undefined;
    for (let page = 0; page < 10; page += 1) {
      const found = await searchEvents(sql, { source: 'walk' }, { limit: 2, after });
      seen.push(...found.events.map((row) => row.id));
      if (found.next === null) break;
      after = found.next;
    }
    expect(seen).toEqual(all.map((row) => row.id));
  });

  it('combines filters with AND and bounds time as [since, until)', async () => {
    const t = (s: number) => new Date(Date.UTC(2022, 5, 1, 0, 0, s));
    await insertEvents(sql, [
      event('filter-a', 'x', t(0)),
      event('filter-a', 'y', t(10)),
      event('filter-a', 'z', t(20)),
      event('filter-b', 'x', t(10)),
    ]);
    const ids = async (search: Parameters<typeof searchEvents>[1]) =>
      (await searchEvents(sql, search, { limit: 10 })).events.map((row) => `${row.source}/${row.event_id}`);
    expect(await ids({ source: 'filter-a', since: t(0), until: t(20) })).toEqual([
      'filter-a/y',
      'filter-a/x',
    ]);
    expect(await ids({ eventId: 'x', since: t(0), until: t(30) })).toEqual(['filter-b/x', 'filter-a/x']);
    expect(await ids({ source: 'filter-b', eventType: 'other' })).toEqual([]);
  });
});

describe('countRecentEventsBySource', () => {
  it('counts the events of each source in the hour and the day before now', async () => {
    const now = new Date('2023-03-03T12:00:00.000Z');
    const ago = (ms: number) => new Date(now.getTime() - ms);
    await insertEvents(sql, [
      event('count-a', '1', ago(1000)),
      event('count-a', '2', ago(3_599_000)),
      event('count-a', '3', ago(3_601_000)),
      event('count-a', '4', ago(86_399_000)),
      event('count-a', '5', ago(86_401_000)),
      event('count-b', '1', ago(7_200_000)),
      event('count-b', '2', new Date(now.getTime() + 1000)),
    ]);
    expect(await countRecentEventsBySource(sql, now)).toEqual([
      { source: 'count-a', lastHour: 2, lastDay: 4 },
      { source: 'count-b', lastHour: 0, lastDay: 1 },
    ]);
  });
});

describe('getEventView', () => {
  const pretty = { maxChars: 1000, payload: 'pretty' } as const;

  it('indents the payload in the database, keeping every digit, and is null without one', async () => {
    const [stored, plain] = await insertEvents(sql, [
      event('pretty', 'json', new Date(), '{"big": 12345678901234567890}'),
      { ...event('pretty', 'text', new Date(), 'hello'), payloadJson: null },
    ]);
    const json = await getEventView(sql, stored?.id ?? '', pretty);
    expect(json?.payload).toEqual({
      text: '{\n    "big": 12345678901234567890\n}',
      chars: 35,
      truncated: false,
    });
    expect(json?.body).toEqual({ text: '{"big": 12345678901234567890}', chars: 29, truncated: false });
    expect(json).toMatchObject({ source: 'pretty', event_id: 'json', event_type: 't', headers: {} });
    expect(
      (await getEventView(sql, stored?.id ?? '', { ...pretty, payload: 'compact' }))?.payload?.text,
    ).toBe('{"big": 12345678901234567890}');
    const text = await getEventView(sql, plain?.id ?? '', pretty);
    expect(text?.payload).toBeNull();
    expect(text?.body.text).toBe('hello');
    expect(await getEventView(sql, '00000000-0000-4000-8000-000000000000', pretty)).toBeNull();
    expect(await getEventView(sql, 'not-a-uuid', pretty)).toBeNull();
  });

  it('reads at most maxChars of a payload whose text is far longer than its body, and says so', async () => {
    // 30 bytes of body, 393,233 characters of payload text: stored before the worker bounded numbers.
    const body = '[1e131071, 1e131071, 1e131071]';
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO webhook_events (source, event_id, event_type, headers, body, payload, received_at)
      VALUES ('huge', 'numbers', NULL, '{}', ${body}, ${body}::text::jsonb, now())
      RETURNING id`;
    for (const payload of ['pretty', 'compact'] as const) {
      const view = await getEventView(sql, row?.id ?? '', { maxChars: 1000, payload });
      expect(view?.payload?.text).toHaveLength(1000);
      expect(view?.payload?.text.startsWith(payload === 'pretty' ? '[\n    1000' : '[1000')).toBe(true);
      expect(view?.payload?.truncated).toBe(true);
      expect(view?.payload?.chars).toBeGreaterThan(3 * 131_072);
      expect(view?.body).toEqual({ text: body, chars: body.length, truncated: false });
    }
    const cut = await getEventView(sql, row?.id ?? '', { maxChars: 10, payload: 'compact' });
    expect(cut?.body).toEqual({ text: body.slice(0, 10), chars: body.length, truncated: true });
  });
});
