import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { databaseTlsFromEnv, redisTlsFromEnv, ServerTls, serverTlsFromEnv } from './tls-settings.js';

/** The ConfigError `run` throws (failing the test when it returns). */
function refusal(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('TLS settings', () => {
  let dir: string;
  let cert: string;
  let key: string;
  let otherKey: string;
  let notPem: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'inlet-tls-settings-'));
    cert = path.join(dir, 'cert.pem');
    key = path.join(dir, 'key.pem');
    otherKey = path.join(dir, 'other-key.pem');
    notPem = path.join(dir, 'not.pem');
    // A self-signed certificate serves as CA and as server certificate alike for these checks.
    const selfSigned = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    execFileSync(
      'openssl',
      [...selfSigned, '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=inlet', '-days', '1'],
      {
        stdio: 'ignore',
      },
    );
    execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey],
      {
        stdio: 'ignore',
      },
    );
    writeFileSync(notPem, 'hello\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('REDIS_TLS_CA_FILE', () => {
    it('is read once with a rediss:// URL, and absent without the variable', () => {
      expect(redisTlsFromEnv({ REDIS_URL: 'rediss://redis.internal:6380', REDIS_TLS_CA_FILE: cert })).toEqual(
        {
          ca: readFileSync(cert, 'utf8'),
        },
      );
      expect(redisTlsFromEnv({ REDIS_URL: 'rediss://redis.internal:6380' })).toBeUndefined();
      expect(redisTlsFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379' })).toBeUndefined();
    });

    it('refuses a plain redis:// URL, naming the variable', () => {
      expect(
        refusal(() => redisTlsFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: cert }))
          .message,
      ).toBe('REDIS_TLS_CA_FILE: needs a rediss:// REDIS_URL (redis:// is not encrypted)');
    });

    it('refuses a file that is missing or holds no certificate', () => {
      const missing = path.join(dir, 'missing.pem');
      expect(
        refusal(() => redisTlsFromEnv({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: missing })).message,
      ).toBe(`REDIS_TLS_CA_FILE: cannot read ${missing} (ENOENT)`);
      expect(
        refusal(() => redisTlsFromEnv({ REDIS_URL: 'rediss://h', REDIS_TLS_CA_FILE: notPem })).message,
      ).toBe(`REDIS_TLS_CA_FILE: ${notPem} does not hold a PEM certificate`);
    });
  });

  describe('DATABASE_TLS_CA_FILE and sslmode', () => {
    const url = (query: string) => `postgres://inlet@db.internal:26257/inlet${query}`;

    it.each(['', '?sslmode=verify-full', '?sslmode=verify-ca', '?sslmode=require'])(
      'reads the CA for %s',
      (query) => {
        expect(databaseTlsFromEnv({ DATABASE_URL: url(query), DATABASE_TLS_CA_FILE: cert })).toEqual({
          ca: readFileSync(cert, 'utf8'),
        });
      },
    );

    it('leaves the URL alone without a CA file', () => {
      for (const mode of ['disable', 'prefer', 'require', 'verify-full']) {
        expect(databaseTlsFromEnv({ DATABASE_URL: url(`?sslmode=${mode}`) })).toBeUndefined();
      }
      expect(databaseTlsFromEnv({ DATABASE_URL: url('?sslrootcert=system') })).toBeUndefined();
    });

    it.each([
      ['?sslmode=disable', /^DATABASE_TLS_CA_FILE: is set but DATABASE_URL says sslmode=disable/],
      [
        '?sslmode=prefer',
        /^DATABASE_TLS_CA_FILE: needs sslmode=verify-full, verify-ca or require .*may connect unencrypted$/,
      ],
      ['?sslmode=allow', /^DATABASE_TLS_CA_FILE: needs sslmode=verify-full/],
      ['?sslrootcert=system', /^DATABASE_TLS_CA_FILE: conflicts with sslrootcert=system/],
    ])('refuses a CA file with %s', (query, expected) => {
      expect(
        refusal(() => databaseTlsFromEnv({ DATABASE_URL: url(query), DATABASE_TLS_CA_FILE: cert })).message,
      ).toMatch(expected);
    });

    it.each([
      [
        '?sslmode=strict',
        /^DATABASE_URL: sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full$/,
      ],
      [
        '?sslmode=verify-full&sslrootcert=/certs/ca.crt',
        /^DATABASE_URL: sslrootcert is not read from the URL/,
      ],
      ['?sslcert=/certs/client.crt&sslkey=/certs/client.key', /^DATABASE_URL: sslcert and sslkey/],
    ])('refuses %s in the URL', (query, expected) => {
      expect(refusal(() => databaseTlsFromEnv({ DATABASE_URL: url(query) })).message).toMatch(expected);
    });
  });

  describe('TLS_CERT_FILE and TLS_KEY_FILE', () => {
    it('reads both, and keeps the key out of logs and JSON', () => {
      const tls = serverTlsFromEnv({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
      expect(tls).toBeInstanceOf(ServerTls);
      expect(tls?.cert).toBe(readFileSync(cert, 'utf8'));
      expect(tls?.key).toBe(readFileSync(key, 'utf8'));
      const secret = readFileSync(key, 'utf8').split('\n')[1] ?? 'unreachable';
      expect(JSON.stringify(tls)).not.toContain(secret);
      expect(JSON.stringify({ ...tls })).not.toContain(secret);
      expect(inspect(tls)).not.toContain(secret);
      expect(serverTlsFromEnv({})).toBeUndefined();
    });

    it('wants both or neither', () => {
      expect(refusal(() => serverTlsFromEnv({ TLS_CERT_FILE: cert })).message).toBe(
        'TLS_KEY_FILE: is required when TLS_CERT_FILE is set',
      );
      expect(refusal(() => serverTlsFromEnv({ TLS_KEY_FILE: key })).message).toBe(
        'TLS_CERT_FILE: is required when TLS_KEY_FILE is set',
      );
    });

    it('refuses a key that is not one, or not the certificate’s, without quoting it', () => {
      expect(refusal(() => serverTlsFromEnv({ TLS_CERT_FILE: cert, TLS_KEY_FILE: notPem })).message).toMatch(
        /^TLS_KEY_FILE: .* does not hold a PEM private key/,
      );
      const mismatch = refusal(() => serverTlsFromEnv({ TLS_CERT_FILE: cert, TLS_KEY_FILE: otherKey }));
      expect(mismatch.message).toBe(
        `TLS_KEY_FILE: ${otherKey} is not the key of the certificate in TLS_CERT_FILE`,
      );
      expect(refusal(() => serverTlsFromEnv({ TLS_CERT_FILE: key, TLS_KEY_FILE: key })).message).toBe(
        `TLS_CERT_FILE: ${key} does not hold a PEM certificate`,
      );
    });
  });
});
