import { describe, expect, it } from 'vitest';
import { parseTime } from './parse-time.js';
import { ReplayError } from './replay-error.js';

const now = new Date('2026-11-22T12:00:00.000Z');

describe('parseTime', () => {
  it.each([
    ['2026-11-22T10:00:00Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22t10:00:00z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T10:00Z', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T10:00:00.25Z', '2026-11-22T10:00:00.250Z'],
    ['2026-11-22T10:00:00.123456Z', '2026-11-22T10:00:00.123Z'],
    ['2026-11-22T12:00:00+02:00', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22T05:30:00-0430', '2026-11-22T10:00:00.000Z'],
    ['2026-11-22', '2026-11-22T00:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads ISO-8601 %s', (text, expected) => {
    expect(parseTime(text, now).toISOString()).toBe(expected);
  });

  it.each([
    ['45s', 45_000],
    ['30m', 30 * 60_000],
    ['1h', 3_600_000],
    ['2d', 2 * 86_400_000],
    ['1w', 7 * 86_400_000],
    ['0m', 0],
    [' 1h ', 3_600_000],
  ])('reads %s as that long before now', (text, ago) => {
    expect(parseTime(text, now).getTime()).toBe(now.getTime() - ago);
  });

  it('counts durations from the current time by default', () => {
    const before = Date.now();
    const parsed = parseTime('1h').getTime();
    expect(parsed).toBeGreaterThanOrEqual(before - 3_600_000);
    expect(parsed).toBeLessThanOrEqual(Date.now() - 3_600_000);
  });

  it.each([
    ['1900-01-01T00:00:00Z', '1900-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['45000d', new Date(now.getTime() - 45_000 * 86_400_000).toISOString()],
  ])('accepts %s, inside the bounds', (text, expected) => {
    expect(parseTime(text, now).toISOString()).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '1',
    '1x',
    '-1h',
    '1.5h',
    'h',
    '2026-11-22T10:00:00',
    '2026-02-30',
    '2025-02-29T00:00:00Z',
    '2026-13-01',
    '2026-11-22T24:00:00Z',
    '2026-11-22T10:60:00Z',
    '2026-11-22T10:00:00+25:00',
    '22/11/2026',
    '1763805600',
    '1000000d',
    '999999999w',
    '47000d',
    '0000-01-01',
    '1899-12-31T23:59:59Z',
    '9999-12-31T23:00:00-05:00',
  ])('refuses %j with an invalid_input error', (text) => {
    expect(() => parseTime(text, now)).toThrow(ReplayError);
    expect(() => parseTime(text, now)).toThrow(
      expect.objectContaining({ code: 'invalid_input', message: expect.stringContaining('ISO-8601') }),
    );
  });
});
