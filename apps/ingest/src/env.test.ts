import { describe, expect, it } from 'vitest';
import { parseIngestEnv } from './env.js';

describe('parseIngestEnv', () => {
  it('applies the contract defaults', () => {
    const env = parseIngestEnv({});
    expect(env.INLET_RATE_LIMIT).toEqual({ points: 1000, durationSeconds: 1 });
    expect(env.INLET_MAX_BACKLOG).toBe(1_000_000);
    expect(env.INLET_MAX_BODY_BYTES_IN_FLIGHT).toBe(16 * 1024 * 1024);
    expect(env.INLET_MAX_CONNECTIONS).toBe(4096);
    expect(env.INLET_TRUSTED_PROXIES).toEqual([]);
    expect(env.INLET_REQUIRE_ENV_SECRETS).toBe(false);
    expect(env.INLET_MAX_BODY_BYTES_PER_CLIENT).toBe(4 * 1024 * 1024);
    expect(env.INLET_BODY_TIMEOUT_MS).toBe(10_000);
    expect(env.INLET_MIN_BODY_BYTES_PER_SECOND).toBe(4096);
    expect(env.INLET_CLIENT_FAILURE_LIMIT).toEqual({ points: 60, durationSeconds: 60 });
    expect(env.INLET_METRICS_PORT).toBeUndefined();
    expect(env.INLET_METRICS_HOST).toBeUndefined();
  });

  it('reads the flood and metrics settings', () => {
    const env = parseIngestEnv({
      INLET_MAX_BODY_BYTES_PER_CLIENT: '2097152',
      INLET_BODY_TIMEOUT_MS: '5000',
      INLET_MIN_BODY_BYTES_PER_SECOND: '0',
      INLET_CLIENT_FAILURE_LIMIT: '{"points":10,"durationSeconds":30}',
      INLET_METRICS_PORT: '9465',
      INLET_METRICS_HOST: '127.0.0.1',
    });
    expect(env.INLET_MAX_BODY_BYTES_PER_CLIENT).toBe(2_097_152);
    expect(env.INLET_BODY_TIMEOUT_MS).toBe(5000);
    expect(env.INLET_MIN_BODY_BYTES_PER_SECOND).toBe(0);
    expect(env.INLET_CLIENT_FAILURE_LIMIT).toEqual({ points: 10, durationSeconds: 30 });
    expect(env.INLET_METRICS_PORT).toBe(9465);
    expect(env.INLET_METRICS_HOST).toBe('127.0.0.1');
  });

  it('reads the abuse settings', () => {
    const env = parseIngestEnv({
      INLET_RATE_LIMIT: '{"points":20,"durationSeconds":10}',
      INLET_MAX_BACKLOG: '5000',
      INLET_MAX_BODY_BYTES_IN_FLIGHT: '1048576',
      INLET_MAX_CONNECTIONS: '500',
      INLET_TRUSTED_PROXIES: '10.0.0.0/8,fd00::/8',
      INLET_REQUIRE_ENV_SECRETS: 'true',
    });
    expect(env.INLET_RATE_LIMIT).toEqual({ points: 20, durationSeconds: 10 });
    expect(env.INLET_MAX_BACKLOG).toBe(5000);
    expect(env.INLET_MAX_BODY_BYTES_IN_FLIGHT).toBe(1_048_576);
    expect(env.INLET_MAX_CONNECTIONS).toBe(500);
    expect(env.INLET_TRUSTED_PROXIES).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(env.INLET_REQUIRE_ENV_SECRETS).toBe(true);
    expect(parseIngestEnv({ INLET_REQUIRE_ENV_SECRETS: 'false' }).INLET_REQUIRE_ENV_SECRETS).toBe(false);
  });

  it.each([
    [{ INLET_RATE_LIMIT: '1000' }, /^INLET_RATE_LIMIT/],
    [{ INLET_RATE_LIMIT: 'points=5' }, /^INLET_RATE_LIMIT: must be JSON/],
    [{ INLET_MAX_BACKLOG: '0' }, /^INLET_MAX_BACKLOG: must be at least 1$/],
    [{ INLET_MAX_BACKLOG: 'lots' }, /^INLET_MAX_BACKLOG: must be a whole number of jobs$/],
    [{ INLET_MAX_BODY_BYTES_IN_FLIGHT: '100' }, /^INLET_MAX_BODY_BYTES_IN_FLIGHT: must be at least 1024$/],
    [
      { INLET_MAX_BODY_BYTES_IN_FLIGHT: '16MB' },
      /^INLET_MAX_BODY_BYTES_IN_FLIGHT: must be a whole number of bytes$/,
    ],
    [{ INLET_MAX_CONNECTIONS: '0' }, /^INLET_MAX_CONNECTIONS: must be at least 1$/],
    [{ INLET_TRUSTED_PROXIES: 'lb.internal' }, /^INLET_TRUSTED_PROXIES\[0\]: /],
    [{ INLET_REQUIRE_ENV_SECRETS: 'yes' }, /^INLET_REQUIRE_ENV_SECRETS: must be true or false$/],
    [
      { INLET_MAX_BODY_BYTES_PER_CLIENT: '4MB' },
      /^INLET_MAX_BODY_BYTES_PER_CLIENT: must be a whole number of bytes$/,
    ],
    [{ INLET_BODY_TIMEOUT_MS: '10' }, /^INLET_BODY_TIMEOUT_MS: must be at least 1000$/],
    [{ INLET_MIN_BODY_BYTES_PER_SECOND: '-1' }, /^INLET_MIN_BODY_BYTES_PER_SECOND: must be 0 or more$/],
    [{ INLET_CLIENT_FAILURE_LIMIT: '60' }, /^INLET_CLIENT_FAILURE_LIMIT/],
    [{ INLET_METRICS_PORT: 'metrics' }, /^INLET_METRICS_PORT: must be a port number$/],
    [{ INLET_METRICS_PORT: '8080' }, /^INLET_METRICS_PORT: must differ from PORT$/],
    [{ INLET_METRICS_HOST: 'localhost' }, /^INLET_METRICS_HOST: must be an IP address/],
    [{ TLS_CERT_FILE: '/etc/inlet/cert.pem' }, /^TLS_KEY_FILE: is required when TLS_CERT_FILE is set$/],
    [{ REDIS_TLS_CA_FILE: '/etc/inlet/ca.pem' }, /^REDIS_TLS_CA_FILE: needs a rediss:\/\/ REDIS_URL/],
  ])('names the variable for %o', (env, expected) => {
    expect(() => parseIngestEnv(env)).toThrow(expected);
  });
});
