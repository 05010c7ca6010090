import { eventJobSchema } from '@inlet/queue';
import { describe, expect, it } from 'vitest';
import { BODY_BYTES, benchEvent } from './event-fixtures.js';

describe('benchEvent', () => {
  it('makes valid events with JSON bodies of exactly 1.4 KB and ids of their own', () => {
    const now = Date.now();
    const events = [0, 1, 99_999].map((n) => benchEvent('a1b2c3d4', n, now));
    for (const event of events) {
      expect(eventJobSchema.parse(event)).toEqual(event);
      expect(Buffer.byteLength(event.body)).toBe(BODY_BYTES);
      expect(JSON.parse(event.body)).toMatchObject({ id: event.eventId });
    }
    expect(new Set(events.map((event) => event.eventId)).size).toBe(3);
  });
});
