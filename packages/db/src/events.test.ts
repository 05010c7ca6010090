import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sql } from './client.js';
import { countEvents, getEvent, insertEvent, insertEvents, type NewEvent, statementSizes } from './events.js';
import { migrate } from './migrate.js';
import { payloadJsonFor } from './payload-json.js';
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

beforeEach(async () => {
  await sql`DELETE FROM webhook_events`;
});

function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  const body = overrides.body ?? '{"id":"evt_1","type":"invoice.paid"}';
  return {
    source: 'stripe',
    eventId: 'evt_1',
    eventType: 'invoice.paid',
    headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=abc' },
    body,
    payloadJson: payloadJsonFor(body, 'application/json'),
    receivedAt: new Date('2024-05-01T12:00:00.123Z'),
    ...overrides,
  };
}

describe('insertEvent', () => {
  it('inserts an event once and reports the duplicate', async () => {
    const first = await insertEvent(sql, newEvent());
    expect(first.inserted).toBe(true);
    expect(first.id).toMatch(/^[0-9a-f-]{36}$/);

    expect(await insertEvent(sql, newEvent({ body: '{"different":true}' }))).toEqual({
      inserted: false,
      id: null,
    });
    expect(await countEvents(sql)).toBe(1);

    // The same event id from another source is another event.
    expect((await insertEvent(sql, newEvent({ source: 'github' }))).inserted).toBe(true);
    expect(await countEvents(sql)).toBe(2);
    expect(await countEvents(sql, 'stripe')).toBe(1);
    expect(await countEvents(sql, 'nobody')).toBe(0);
  });

  it('reads back what it stored', async () => {
    const event = newEvent();
    const { id } = await insertEvent(sql, event);
    const stored = await getEvent(sql, id ?? '');
    expect(stored).toMatchObject({
      id,
      source: 'stripe',
      event_id: 'evt_1',
      event_type: 'invoice.paid',
      headers: event.headers,
      body: event.body,
      payload: { id: 'evt_1', type: 'invoice.paid' },
      received_at: event.receivedAt,
    });
    expect(stored?.processed_at).toBeInstanceOf(Date);
  });

  it('stores headers as a JSON object, not as an encoded string', async () => {
    const { id } = await insertEvent(sql, newEvent());
    const [row] = await sql<{ kind: string; content_type: string; signature: string }[]>`
      SELECT jsonb_typeof(headers) AS kind, headers->>'content-type' AS content_type,
             headers->>'stripe-signature' AS signature
      FROM webhook_events WHERE id = ${id}`;
    expect(row).toEqual({ kind: 'object', content_type: 'application/json', signature: 't=1,v1=abc' });
  });

  it('keeps the body byte for byte and the payload numbers exact', async () => {
    const body =
      '{ "amount" : 12345678901234567890123,\r\n\t"ratio": 0.1000000000000000000000000001, "tiny": 1e-300,\n' +
      '  "text": "héllo wörld 👋🏽 مرحبا ﷽ e\\u0301 \\ud83d\\ude00 \\"quoted\\" \\\\ back",  "zero": -0 }  \n';
    const { id } = await insertEvent(
      sql,
      newEvent({ eventId: 'evt_exact', body, payloadJson: payloadJsonFor(body, 'application/json') }),
    );
    const [row] = await sql<{ body: string; bytes: number; amount: string; ratio: string; text: string }[]>`
      SELECT body, octet_length(body) AS bytes, payload->>'amount' AS amount, payload->>'ratio' AS ratio,
             payload->>'text' AS text
      FROM webhook_events WHERE id = ${id}`;
    expect(row?.body).toBe(body);
    expect(row?.bytes).toBe(Buffer.byteLength(body, 'utf8'));
    expect(row?.amount).toBe('12345678901234567890123');
    expect(row?.ratio).toBe('0.1000000000000000000000000001');
    expect(row?.text).toBe('héllo wörld 👋🏽 مرحبا ﷽ e\u0301 \u{1f600} "quoted" \\ back');
    const [text] = await sql<
      { payload: string }[]
    >`SELECT payload::text AS payload FROM webhook_events WHERE id = ${id}`;
    expect(text?.payload).toContain('"amount": 12345678901234567890123');
  });

  it('stores form fields and a missing payload as SQL NULL', async () => {
    const form = 'a=1&b=two+words&a=2';
    const formEvent = await insertEvent(
      sql,
      newEvent({
        eventId: 'form',
        body: form,
        payloadJson: payloadJsonFor(form, 'application/x-www-form-urlencoded'),
      }),
    );
    const plain = await insertEvent(
      sql,
      newEvent({ eventId: 'plain', eventType: null, body: 'just text', payloadJson: null }),
    );
    const rows = await sql<
      { event_id: string; payload: unknown; is_null: boolean; event_type: string | null }[]
    >`
      SELECT event_id, payload, payload IS NULL AS is_null, event_type
      FROM webhook_events WHERE id IN (${formEvent.id}, ${plain.id}) ORDER BY event_id`;
    expect(rows).toEqual([
      {
        event_id: 'form',
        payload: { a: ['1', '2'], b: 'two words' },
        is_null: false,
        event_type: 'invoice.paid',
      },
      { event_id: 'plain', payload: null, is_null: true, event_type: null },
    ]);
  });

  it('works inside a transaction and rolls back with it', async () => {
    await sql
      .begin(async (tx) => {
        expect((await insertEvent(tx, newEvent({ eventId: 'in_tx' }))).inserted).toBe(true);
        throw new Error('abandon');
      })
      .catch(() => {});
    expect(await countEvents(sql)).toBe(0);
  });
});

describe('insertEvents', () => {
  it('answers for each event in order, duplicates within the batch included', async () => {
    await insertEvent(sql, newEvent({ eventId: 'old' }));
    const results = await insertEvents(sql, [
      newEvent({ eventId: 'a' }),
      newEvent({ eventId: 'old' }),
      newEvent({ eventId: 'b', source: 'github', eventType: null, payloadJson: null }),
      newEvent({ eventId: 'a', body: 'second copy' }),
    ]);
    expect(results.map((result) => result.inserted)).toEqual([true, false, true, false]);
    expect(results.map((result) => result.id === null)).toEqual([false, true, false, true]);
    const first = await getEvent(sql, results[0]?.id ?? '');
    expect(first?.body).toBe(newEvent().body);
    expect(await countEvents(sql)).toBe(3);
    expect(await insertEvents(sql, [])).toEqual([]);
  });

  it('stores a content once per source, whatever the event id, as a database with no help would', async () => {
    const content = 'a'.repeat(64);
    const other = 'b'.repeat(64);
    await insertEvent(sql, newEvent({ source: 'gh', eventId: 'delivery-1', contentSha256: content }));
    const results = await insertEvents(sql, [
      // A replay of a stored delivery under a fresh id, and under the fallback id.
      newEvent({ source: 'gh', eventId: 'delivery-2', contentSha256: content }),
      newEvent({ source: 'gh', eventId: 'sha256:whatever', contentSha256: content }),
      // Two copies of a new content inside the batch: the first is stored.
      newEvent({ source: 'gh', eventId: 'delivery-3', contentSha256: other }),
      newEvent({ source: 'gh', eventId: 'delivery-4', contentSha256: other }),
      // The id the loser carried is still free for other content.
      newEvent({ source: 'gh', eventId: 'delivery-4', contentSha256: 'c'.repeat(64) }),
      // The same content in another source, and events without a content key, are unaffected.
      newEvent({ source: 'shop', eventId: 'delivery-2', contentSha256: content }),
      newEvent({ source: 'gh', eventId: 'plain-1' }),
      newEvent({ source: 'gh', eventId: 'plain-2', contentSha256: null }),
    ]);
    expect(results.map((result) => result.inserted)).toEqual([
      false,
      false,
      true,
      false,
      true,
      true,
      true,
      true,
    ]);
    const rows = await sql<{ source: string; event_id: string; content_sha256: string | null }[]>`
      SELECT source, event_id, content_sha256 FROM webhook_events ORDER BY source, event_id`;
    expect(rows.map((row) => `${row.source}/${row.event_id}`)).toEqual([
      'gh/delivery-1',
      'gh/delivery-3',
      'gh/delivery-4',
      'gh/plain-1',
      'gh/plain-2',
      'shop/delivery-2',
    ]);
    expect(rows.find((row) => row.event_id === 'delivery-4')?.content_sha256).toBe('c'.repeat(64));
  });

  it('stores JSON, form and plain payloads side by side in one batch of several statements', async () => {
    const form = 'a=1&a=2';
    const events = Array.from({ length: 300 }, (_, i) => {
      if (i % 3 === 1)
        return newEvent({
          eventId: `form_${i}`,
          body: form,
          payloadJson: payloadJsonFor(form, 'application/x-www-form-urlencoded'),
        });
      if (i % 3 === 2) return newEvent({ eventId: `text_${i}`, body: `{not json ${i}`, payloadJson: null });
      const body = `{"n":${i},"big":123456789012345678901234567890}`;
      return newEvent({ eventId: `json_${i}`, body, payloadJson: payloadJsonFor(body, 'application/json') });
    });
    const results = await insertEvents(sql, events);
    expect(results.every((result) => result.inserted)).toBe(true);
    const rows = await sql<{ event_id: string; body: string; payload: string | null }[]>`
      SELECT event_id, body, payload::text AS payload FROM webhook_events`;
    expect(rows).toHaveLength(300);
    for (const row of rows) {
      const n = Number(row.event_id.split('_')[1]);
      if (row.event_id.startsWith('form_'))
        expect(JSON.parse(row.payload ?? 'null')).toEqual({ a: ['1', '2'] });
      else if (row.event_id.startsWith('text_')) expect(row.payload).toBeNull();
      else expect(row.payload).toBe(`{"n": ${n}, "big": 123456789012345678901234567890}`);
      expect(row.body).toBe(events.find((event) => event.eventId === row.event_id)?.body);
    }
  });

  it('reads the event type from the payload field it is told of, when it has none of its own', async () => {
    const typed = (eventId: string, body: string, overrides: Partial<NewEvent> = {}) =>
      newEvent({
        eventId,
        body,
        payloadJson: payloadJsonFor(body, 'application/json'),
        eventType: null,
        eventTypeField: 'type',
        ...overrides,
      });
    await insertEvents(sql, [
      typed('string', '{"data":{"type":"nested"},"type":"invoice.paid"}'),
      typed('duplicate-key', '{"type":"first","type":"last"}'),
      typed('number', '{"type":5}'),
      typed('missing', '{"kind":"x"}'),
      typed('array', '["type"]'),
      typed('scalar', '"type"'),
      typed('not-json', 'type=invoice.paid', { payloadJson: null }),
      typed('own-type', '{"type":"from.body"}', { eventType: 'from.header' }),
      typed('no-field', '{"type":"ignored"}', { eventTypeField: null }),
      typed('other-field', '{"type":"a","event":"b"}', { eventTypeField: 'event' }),
    ]);
    const rows = await sql<{ event_id: string; event_type: string | null }[]>`
      SELECT event_id, event_type FROM webhook_events`;
    expect(Object.fromEntries(rows.map((row) => [row.event_id, row.event_type]))).toEqual({
      string: 'invoice.paid',
      'duplicate-key': 'last',
      number: null,
      missing: null,
      array: null,
      scalar: null,
      'not-json': null,
      'own-type': 'from.header',
      'no-field': null,
      'other-field': 'b',
    });
  });

  it('splits rows into power-of-two statements, so few statement shapes are ever prepared', () => {
    expect(statementSizes(0)).toEqual([]);
    expect(statementSizes(1)).toEqual([1]);
    expect(statementSizes(300)).toEqual([256, 32, 8, 4]);
    expect(statementSizes(1000)).toEqual([256, 256, 256, 128, 64, 32, 8]);
    for (let count = 0; count < 2000; count++) {
      const sizes = statementSizes(count);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(count);
      expect(sizes.every((size) => size <= 256 && (size & (size - 1)) === 0)).toBe(true);
    }
  });

  it('handles batches larger than one statement', async () => {
    const events = Array.from({ length: 2500 }, (_, i) => newEvent({ eventId: `bulk_${i}` }));
    const results = await insertEvents(sql, events);
    expect(results.filter((result) => result.inserted)).toHaveLength(2500);
    expect(await countEvents(sql)).toBe(2500);
  });
});

describe('getEvent', () => {
  it('returns null for an unknown or malformed id', async () => {
    expect(await getEvent(sql, '6f1c1d5e-8a4b-4c1e-9d2a-3b4c5d6e7f80')).toBeNull();
    expect(await getEvent(sql, 'not-a-uuid')).toBeNull();
    expect(await getEvent(sql, "'; DROP TABLE webhook_events; --")).toBeNull();
  });
});
