import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, parseSearchQuery } from './search-params.js';

describe('cursors', () => {
  it('round-trip the database text of received_at, microseconds and zone included', () => {
    const cursor = {
      receivedAt: '2026-11-22 10:00:00.123456+00',
      id: '6f1c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(encodeCursor(cursor)).toMatch(/^[\w-]+$/);
  });

  it.each([
    'not base64 at all!',
    Buffer.from('{"a":1}').toString('base64url'),
    Buffer.from('["2026-11-22 10:00:00+00","not-a-uuid"]').toString('base64url'),
    Buffer.from('["drop table","6f1c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6"]').toString('base64url'),
    // Shaped like the database's text, but it could not read them back: the query would fail.
    ...[
      '0000-01-01 00:00:00+00',
      '2026-02-31 00:00:00+00',
      '2026-13-01 00:00:00+00',
      '2026-11-22 24:00:00+00',
      '2026-11-22 10:00:00+99',
    ].map((at) => encodeCursor({ receivedAt: at, id: '6f1c2a4e-1b2c-4d5e-8f90-a1b2c3d4e5f6' })),
  ])('refuse %j', (token) => {
    expect(decodeCursor(token)).toBeNull();
  });
});

describe('parseSearchQuery', () => {
  it('treats empty form fields as unset and reads times as ISO-8601 or a duration ago', () => {
    const before = Date.now();
    const query = parseSearchQuery({ source: '', eventId: ' evt_1 ', eventType: '', since: '2h', until: '' });
    expect(query.search.source).toBeUndefined();
    expect(query.search.eventId).toBe('evt_1');
    expect(query.search.until).toBeUndefined();
    expect(query.search.since?.getTime()).toBeLessThanOrEqual(before - 2 * 3_600_000 + 1000);
    expect(query.limit).toBe(50);
    expect(query.after).toBeUndefined();
    expect(parseSearchQuery({ since: '2026-11-22T10:00:00Z' }).search.since?.toISOString()).toBe(
      '2026-11-22T10:00:00.000Z',
    );
  });
});
