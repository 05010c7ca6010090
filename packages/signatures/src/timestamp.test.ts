import { describe, expect, it } from 'vitest';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from './timestamp.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

describe('parseUnixSeconds', () => {
  it('parses digits', () => {
    expect(parseUnixSeconds('1614265330', 'timestamp')).toBe(1614265330);
    expect(parseUnixSeconds('0', 'timestamp')).toBe(0);
  });

  it('reports an absent timestamp as missing', () => {
    expect(() => parseUnixSeconds(undefined, 'timestamp')).toThrow(failsWith('missing_signature'));
    expect(() => parseUnixSeconds('', 'timestamp')).toThrow(failsWith('missing_signature'));
  });

  it.each(['-1', '+1', '1.5', '1e9', ' 1', '0x10', 'abc', '1234567890123', '１２３'])(
    'refuses %j',
    (value) => {
      expect(() => parseUnixSeconds(value, 'timestamp')).toThrow(failsWith('invalid_signature'));
    },
  );
});

describe('assertWithinTolerance', () => {
  const now = 1_700_000_000_000;
  const nowSeconds = now / 1000;

  it('accepts timestamps up to the tolerance either side', () => {
    expect(() => assertWithinTolerance(nowSeconds, now, 300)).not.toThrow();
    expect(() => assertWithinTolerance(nowSeconds - 300, now, 300)).not.toThrow();
    expect(() => assertWithinTolerance(nowSeconds + 300, now, 300)).not.toThrow();
  });

  it('refuses old timestamps', () => {
    expect(() => assertWithinTolerance(nowSeconds - 301, now, 300)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses future timestamps', () => {
    expect(() => assertWithinTolerance(nowSeconds + 301, now, 300)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });
});

describe('formatUnixSeconds', () => {
  it('formats integers', () => {
    expect(formatUnixSeconds(1614265330)).toBe('1614265330');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e13])('refuses %s', (value) => {
    expect(() => formatUnixSeconds(value)).toThrow(RangeError);
  });
});
