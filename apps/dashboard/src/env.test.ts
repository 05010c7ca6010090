import { ConfigError } from '@inlet/config';
import { describe, expect, it } from 'vitest';
import { ingestMetricsUrlFromEnv, parseDashboardEnv, usersFromEnv } from './env.js';

const refusal = (env: Record<string, string>) => {
  try {
    parseDashboardEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

const ADMIN_PW = 'admin-password-0123';
const VIEWER_PW = 'viewer-password-4567';

describe('parseDashboardEnv', () => {
  it('takes the contract defaults and needs only a password', () => {
    const env = parseDashboardEnv({ DASHBOARD_PASSWORD: ADMIN_PW });
    expect(env).toMatchObject({
      DASHBOARD_PORT: 8081,
      DASHBOARD_USER: 'admin',
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/inlet',
      INLET_QUEUE: 'inlet-events',
      INLET_QUEUE_PREFIX: '{inlet}',
      LOG_LEVEL: 'info',
    });
    expect(usersFromEnv(env)).toEqual([{ name: 'admin', password: ADMIN_PW, role: 'admin' }]);
    expect(ingestMetricsUrlFromEnv(env)).toBe('http://127.0.0.1:8080/metrics');
  });

  it('refuses to start without a password, in one line naming it', () => {
    for (const env of [{}, { DASHBOARD_PASSWORD: '' }]) {
      const error = refusal(env);
      expect(error.field).toBe('DASHBOARD_PASSWORD');
      expect(error.message).toBe('DASHBOARD_PASSWORD: is required: set a password for the dashboard');
    }
  });

  it('refuses a password shorter than 12 characters, for either login, naming the variable only', () => {
    const short = refusal({ DASHBOARD_PASSWORD: 's3cret-abcd' });
    expect(short.message).toBe('DASHBOARD_PASSWORD: must be at least 12 characters');
    expect(short.message).not.toContain('s3cret');
    expect(refusal({ DASHBOARD_PASSWORD: 'x' }).field).toBe('DASHBOARD_PASSWORD');
    expect(
      refusal({
        DASHBOARD_PASSWORD: ADMIN_PW,
        DASHBOARD_READONLY_USER: 'viewer',
        DASHBOARD_READONLY_PASSWORD: 'viewer-pw',
      }).message,
    ).toBe('DASHBOARD_READONLY_PASSWORD: must be at least 12 characters');
    expect(parseDashboardEnv({ DASHBOARD_PASSWORD: 'exactly-12ch' }).DASHBOARD_PASSWORD).toBe('exactly-12ch');
  });

  it('wants the read-only user and password together, and apart from the operator', () => {
    expect(refusal({ DASHBOARD_PASSWORD: ADMIN_PW, DASHBOARD_READONLY_USER: 'viewer' }).field).toBe(
      'DASHBOARD_READONLY_PASSWORD',
    );
    expect(refusal({ DASHBOARD_PASSWORD: ADMIN_PW, DASHBOARD_READONLY_PASSWORD: VIEWER_PW }).field).toBe(
      'DASHBOARD_READONLY_USER',
    );
    expect(
      refusal({
        DASHBOARD_PASSWORD: ADMIN_PW,
        DASHBOARD_READONLY_USER: 'admin',
        DASHBOARD_READONLY_PASSWORD: VIEWER_PW,
      }).field,
    ).toBe('DASHBOARD_READONLY_USER');
    const env = parseDashboardEnv({
      DASHBOARD_PASSWORD: ADMIN_PW,
      DASHBOARD_READONLY_USER: 'viewer',
      DASHBOARD_READONLY_PASSWORD: VIEWER_PW,
    });
    expect(usersFromEnv(env)).toEqual([
      { name: 'admin', password: ADMIN_PW, role: 'admin' },
      { name: 'viewer', password: VIEWER_PW, role: 'readonly' },
    ]);
  });

  it('names a malformed setting without echoing its value', () => {
    const secret = `s3cret-${'x'.repeat(1100)}`;
    const long = refusal({ DASHBOARD_PASSWORD: secret });
    expect(long.field).toBe('DASHBOARD_PASSWORD');
    expect(long.message).not.toContain('s3cret');
    expect(refusal({ DASHBOARD_PASSWORD: ADMIN_PW, DASHBOARD_USER: 'a:b' }).field).toBe('DASHBOARD_USER');
    expect(refusal({ DASHBOARD_PASSWORD: ADMIN_PW, DASHBOARD_PORT: 'eighty' }).field).toBe('DASHBOARD_PORT');
    expect(refusal({ DASHBOARD_PASSWORD: ADMIN_PW, INLET_INGEST_METRICS_URL: 'ftp://x' }).field).toBe(
      'INLET_INGEST_METRICS_URL',
    );
  });

  it('serves plain HTTP unless given a certificate and key, and wants both', () => {
    expect(parseDashboardEnv({ DASHBOARD_PASSWORD: ADMIN_PW })).toMatchObject({
      serverTls: undefined,
      redisTls: undefined,
      databaseTls: undefined,
    });
    expect(refusal({ DASHBOARD_PASSWORD: ADMIN_PW, TLS_CERT_FILE: '/etc/inlet/cert.pem' }).message).toBe(
      'TLS_KEY_FILE: is required when TLS_CERT_FILE is set',
    );
    expect(
      refusal({ DASHBOARD_PASSWORD: ADMIN_PW, REDIS_TLS_CA_FILE: '/etc/inlet/redis-ca.pem' }).field,
    ).toBe('REDIS_TLS_CA_FILE');
    expect(
      refusal({
        DASHBOARD_PASSWORD: ADMIN_PW,
        DATABASE_URL: 'postgres://db/inlet?sslmode=disable',
        DATABASE_TLS_CA_FILE: '/etc/inlet/db-ca.pem',
      }).field,
    ).toBe('DATABASE_TLS_CA_FILE');
  });

  it('turns the ingest metrics panel off with INLET_INGEST_METRICS_URL=off', () => {
    expect(
      ingestMetricsUrlFromEnv(
        parseDashboardEnv({ DASHBOARD_PASSWORD: ADMIN_PW, INLET_INGEST_METRICS_URL: 'off' }),
      ),
    ).toBe(null);
  });
});
