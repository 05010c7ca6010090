import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, type TestCertificates } from './certificates.js';
import { type PostgresServer, startPostgresServer } from './postgres-server.js';
import { type RedisServer, startRedisServer } from './processes.js';

/** The certificate a TLS server on `port` presents, trusting `caFile`. */
function presented(port: number, caFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(caFile) }, () => {
      resolve(socket.getPeerCertificate().subjectaltname ?? '');
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('TLS test servers', () => {
  let certs: TestCertificates | undefined;
  let redis: RedisServer | undefined;
  let pg: PostgresServer | undefined;
  beforeAll(async () => {
    certs = await createTestCertificates();
  });
  afterAll(async () => {
    await redis?.stop();
    await pg?.stop();
    await certs?.remove();
  });

  it('redis-server serves TLS only, with the CA-signed certificate for 127.0.0.1', async (ctx) => {
    if (!certs) throw new Error('no certificates');
    const server = await startRedisServer({ tls: { ...certs.server, caFile: certs.caFile } }).catch(
      (error: Error) =>
        // Redis built without TLS: say so rather than pass in silence.
        ctx.skip(`redis-server cannot serve TLS here: ${error.message}`),
    );
    redis = server;
    expect(server.url).toBe(`rediss://127.0.0.1:${server.port}`);
    expect(await presented(server.port, certs.caFile)).toContain('IP Address:127.0.0.1');
  });

  it('PostgreSQL serves TLS and refuses unencrypted connections', async () => {
    if (!certs) throw new Error('no certificates');
    pg = await startPostgresServer({ tls: certs.server, settings: { ssl_min_protocol_version: 'TLSv1.2' } });
    const plain = postgres(pg.url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    await expect(plain`select 1`).rejects.toThrow(/no pg_hba.conf entry|SSL off/);
    await plain.end({ timeout: 1 });
    const encrypted = postgres(pg.url, {
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
      ssl: { ca: readFileSync(certs.caFile, 'utf8') },
    });
    try {
      const [row] = await encrypted<{ ssl: boolean; min: string }[]>`
        select ssl, current_setting('ssl_min_protocol_version') as min
        from pg_stat_ssl where pid = pg_backend_pid()`;
      expect(row).toEqual({ ssl: true, min: 'TLSv1.2' });
    } finally {
      await encrypted.end({ timeout: 1 });
    }
  });
});
