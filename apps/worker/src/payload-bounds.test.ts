import type { EventJob } from '@inlet/queue';
import { createTestDatabase, type TestDatabase } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriter } from './batch-writer.js';

describe('a tiny body whose numbers the database would write out in full', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is stored with its raw body and no payload, so payload::text stays small', async () => {
    // 4.5 KB of signed body; as jsonb, 65 MB of payload::text (and of jsonb_pretty).
    const body = `[${Array.from({ length: 500 }, () => '1e131071').join(',')}]`;
    const event: EventJob = {
      source: 'numbers',
      eventId: 'bomb',
      eventType: 'test.event',
      headers: { 'content-type': 'application/json' },
      body,
      receivedAt: Date.now(),
    };
    const ordinary: EventJob = {
      ...event,
      eventId: 'ordinary',
      body: '{"amount":1.5e-7,"id":"evt_1e99999"}',
    };
    const writer = new BatchWriter({ sql: db.sql, maxBatchSize: 10, maxConcurrentBatches: 1 });
    expect(await writer.write(event)).toBe('stored');
    expect(await writer.write(ordinary)).toBe('stored');
    const rows = await db.sql<{ event_id: string; body: string; payload_chars: number | null }[]>`
      SELECT event_id, body, length(payload::text) AS payload_chars
      FROM webhook_events WHERE source = 'numbers' ORDER BY event_id`;
    expect(rows.map((row) => row.event_id)).toEqual(['bomb', 'ordinary']);
    const [bomb, kept] = rows;
    expect(bomb?.body).toBe(body);
    expect(bomb?.payload_chars ?? 0).toBeLessThan(20_000);
    expect(bomb?.payload_chars).toBeNull();
    // An ordinary payload keeps its numbers (and an exponent-like id is just text).
    expect(kept?.payload_chars).toBeGreaterThan(0);
  });
});
