import { describe, expect, it } from 'vitest';
import { booleanFromEnv, commonEnv, databaseEnv, parseEnv, portSchema } from './env.js';
import { ipRangeListFromEnv } from './ip-ranges.js';
import { rateLimitFromEnv } from './rate-limit.js';

describe('parseEnv', () => {
  it('applies the contract defaults', () => {
    const env = parseEnv({ ...commonEnv, ...databaseEnv }, {});
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/inlet');
    expect(env.INLET_QUEUE).toBe('inlet-events');
    expect(env.INLET_QUEUE_PREFIX).toBe('{inlet}');
  });

  it('names the bad variable without echoing its value', () => {
    expect(() => parseEnv({ ...commonEnv }, { REDIS_URL: 'http://user:hunter2@host' })).toThrow(
      /^REDIS_URL: must be a Redis URL/,
    );
    try {
      parseEnv({ ...commonEnv }, { REDIS_URL: 'http://user:hunter2@host' });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
    expect(() => parseEnv({ PORT: portSchema }, { PORT: '80a' })).toThrow(/^PORT: must be a port number/);
    expect(() =>
      parseEnv({ INLET_QUEUE_PREFIX: commonEnv.INLET_QUEUE_PREFIX }, { INLET_QUEUE_PREFIX: 'a:b' }),
    ).toThrow(/^INLET_QUEUE_PREFIX/);
  });

  it('treats an empty value as unset', () => {
    expect(parseEnv({ PORT: portSchema.default(8080) }, { PORT: '' }).PORT).toBe(8080);
  });

  it('reads booleans strictly', () => {
    expect(booleanFromEnv.parse('false')).toBe(false);
    expect(booleanFromEnv.parse('true')).toBe(true);
    expect(booleanFromEnv.safeParse('yes').success).toBe(false);
  });
});

describe('structured settings', () => {
  const shape = {
    INLET_RATE_LIMIT: rateLimitFromEnv.optional(),
    INLET_TRUSTED_PROXIES: ipRangeListFromEnv.optional(),
  };

  it('reads a JSON rate limit and a CIDR list', () => {
    expect(
      parseEnv(shape, {
        INLET_RATE_LIMIT: '{"points":5,"durationSeconds":60}',
        INLET_TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8',
      }),
    ).toEqual({
      INLET_RATE_LIMIT: { points: 5, durationSeconds: 60 },
      INLET_TRUSTED_PROXIES: ['10.0.0.0/8', 'fd00::/8'],
    });
  });

  it.each([
    ['{points:5}', /^INLET_RATE_LIMIT: must be JSON such as \{"points":1000,"durationSeconds":1\}$/],
    ['{"points":0,"durationSeconds":1}', /^INLET_RATE_LIMIT\.points: must be at least 1$/],
    ['{"points":5}', /^INLET_RATE_LIMIT\.durationSeconds: /],
    ['[]', /^INLET_RATE_LIMIT: /],
  ])('names INLET_RATE_LIMIT for %s', (value, expected) => {
    expect(() => parseEnv(shape, { INLET_RATE_LIMIT: value })).toThrow(expected);
  });

  it('names the bad proxy range', () => {
    expect(() => parseEnv(shape, { INLET_TRUSTED_PROXIES: '10.0.0.0/8,proxy.internal' })).toThrow(
      /^INLET_TRUSTED_PROXIES\[1\]: "proxy\.internal" is not an IP address or CIDR range/,
    );
  });
});
