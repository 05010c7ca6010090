import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SslOptions, sslOptionsFor } from './ssl-options.js';

/** A throwaway self-signed certificate naming `san` (e.g. `IP:127.0.0.1`), as a TLS peer sees it. */
function peerCertificate(dir: string, san: string): PeerCertificate {
  const name = san.replace(/\W/g, '_');
  const [key, cert] = [path.join(dir, `${name}.key`), path.join(dir, `${name}.crt`)];
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
      .concat(['-keyout', key, '-out', cert, '-subj', '/CN=inlet-test', '-days', '1', '-addext'])
      .concat([`subjectAltName=${san}`]),
    { stdio: 'ignore' },
  );
  // toLegacyObject() is the shape tls hands to checkServerIdentity.
  return new X509Certificate(readFileSync(cert)).toLegacyObject();
}

/** What the options' checkServerIdentity says for a certificate, given the servername Node passes. */
function accepts(options: SslOptions | undefined, servername: string, cert: PeerCertificate): boolean {
  const check = options?.checkServerIdentity;
  if (!check) throw new Error('no host check');
  return check(servername, cert) === undefined;
}

describe('sslOptionsFor', () => {
  let dir: string;
  let forIp: PeerCertificate;
  let forLocalhost: PeerCertificate;
  let forDbHost: PeerCertificate;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'inlet-ssl-options-'));
    forIp = peerCertificate(dir, 'IP:127.0.0.1');
    forLocalhost = peerCertificate(dir, 'DNS:localhost');
    forDbHost = peerCertificate(dir, 'DNS:db.internal');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const url = (host: string, query: string) => `postgres://inlet@${host}:5432/inlet${query}`;

  it('leaves plain modes to the URL without a CA', () => {
    for (const query of ['', '?sslmode=disable', '?sslmode=prefer', '?sslmode=require', '?sslmode=allow']) {
      expect(sslOptionsFor(url('db.internal', query))).toBeUndefined();
    }
  });

  it('verify-full checks the chain and the host the URL names', () => {
    for (const options of [
      sslOptionsFor(url('127.0.0.1', '?sslmode=verify-full'), 'CA'),
      sslOptionsFor(url('127.0.0.1', ''), 'CA'),
      sslOptionsFor(url('127.0.0.1', '?sslmode=verify-full')),
    ]) {
      expect(options?.rejectUnauthorized).toBe(true);
      // Node passes "localhost" for an IP host; the address itself is what must be in the certificate.
      expect(accepts(options, 'localhost', forIp)).toBe(true);
      expect(accepts(options, 'localhost', forLocalhost)).toBe(false);
      expect(accepts(options, 'localhost', forDbHost)).toBe(false);
    }
    expect(sslOptionsFor(url('127.0.0.1', ''), 'CA')?.ca).toBe('CA');
    const byName = sslOptionsFor(url('db.internal', '?sslmode=verify-full'), 'CA');
    expect(accepts(byName, 'db.internal', forDbHost)).toBe(true);
    expect(accepts(byName, 'db.internal', forIp)).toBe(false);
  });

  it('with several hosts, the certificate must name one of them', () => {
    const options = sslOptionsFor(url('db.internal,10.0.0.2', '?sslmode=verify-full'), 'CA');
    expect(accepts(options, 'db.internal', forDbHost)).toBe(true);
    expect(accepts(options, 'db.internal', forLocalhost)).toBe(false);
    expect(accepts(options, 'localhost', forIp)).toBe(false);
  });

  it('verify-ca, and require with a CA, check the chain only', () => {
    for (const options of [
      sslOptionsFor(url('127.0.0.1', '?sslmode=verify-ca'), 'CA'),
      sslOptionsFor(url('127.0.0.1', '?sslmode=require'), 'CA'),
      sslOptionsFor(url('127.0.0.1', '?sslmode=verify-ca')),
    ]) {
      expect(options?.rejectUnauthorized).toBe(true);
      expect(accepts(options, 'localhost', forDbHost)).toBe(true);
    }
    expect(sslOptionsFor(url('127.0.0.1', '?sslmode=require'), 'CA')?.ca).toBe('CA');
  });

  it('refuses a CA with a mode that may connect unencrypted', () => {
    for (const mode of ['disable', 'allow', 'prefer']) {
      expect(() => sslOptionsFor(url('127.0.0.1', `?sslmode=${mode}`), 'CA')).toThrow(/verify-full/);
    }
  });
});
