import { describe, expect, it } from 'vitest';
import { booleanFromEnv, commonEnv, databaseEnv, parseEnv, portSchema } from './env.js';

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
