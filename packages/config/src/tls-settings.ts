import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { ConfigError } from './errors.js';

const filePath = z.string().min(1);

/** Ingest's and the dashboard's own certificate: both set serves HTTPS, neither plain HTTP. */
export const serverTlsEnv = {
  TLS_CERT_FILE: filePath.optional(),
  TLS_KEY_FILE: filePath.optional(),
};

/** libpq's sslmode values, weakest first. */
export const sslModes = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof sslModes)[number];

/** The CA that signs Redis's certificate, in PEM. */
export interface RedisTls {
  readonly ca: string;
}

/** The CA that signs the database's certificate, in PEM; the URL's sslmode says what is checked. */
export interface DatabaseTls {
  readonly ca: string;
}

/**
 * The certificate and private key to serve HTTPS with. The key is kept in a private field, so
 * logging or serialising the settings (JSON, pino, util.inspect) shows the file paths, never the key.
 */
export class ServerTls {
  readonly #key: string;
  constructor(
    readonly certFile: string,
    readonly keyFile: string,
    readonly cert: string,
    key: string,
  ) {
    this.#key = key;
  }
  get key(): string {
    return this.#key;
  }
}

/** A file's text, read once at start; a missing or unreadable one stops start-up naming `variable`. */
function readSettingFile(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(variable, `cannot read ${file} (${code})`);
  }
}

function readCertificates(variable: string, file: string): string {
  const pem = readSettingFile(variable, file);
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate');
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(variable, `${file} does not hold a PEM certificate`);
  }
  return pem;
}

/** `REDIS_TLS_CA_FILE` read and checked against `REDIS_URL`, or undefined when unset. */
export function redisTlsFromEnv(env: {
  readonly REDIS_URL: string;
  readonly REDIS_TLS_CA_FILE?: string | undefined;
}): RedisTls | undefined {
  const file = env.REDIS_TLS_CA_FILE;
  if (file === undefined) return undefined;
  // A CA with redis:// would look like TLS in the configuration while every byte goes in clear.
  if (new URL(env.REDIS_URL).protocol !== 'rediss:') {
    throw new ConfigError('REDIS_TLS_CA_FILE', 'needs a rediss:// REDIS_URL (redis:// is not encrypted)');
  }
  return { ca: readCertificates('REDIS_TLS_CA_FILE', file) };
}

/**
 * `DATABASE_TLS_CA_FILE` read and checked against `DATABASE_URL`'s sslmode, or undefined when
 * unset. With a CA file, sslmode must verify: `verify-full`, `verify-ca`, or `require` (which
 * libpq treats as `verify-ca` when it has a root certificate); no sslmode means `verify-full`.
 */
export function databaseTlsFromEnv(env: {
  readonly DATABASE_URL: string;
  readonly DATABASE_TLS_CA_FILE?: string | undefined;
}): DatabaseTls | undefined {
  const params = new URL(env.DATABASE_URL).searchParams;
  const mode = params.get('sslmode');
  if (mode !== null && !sslModes.some((known) => known === mode)) {
    throw new ConfigError('DATABASE_URL', `sslmode must be one of ${sslModes.join(', ')}`);
  }
  // postgres.js would send these to the server as session settings, which it refuses.
  if (params.has('sslcert') || params.has('sslkey')) {
    throw new ConfigError('DATABASE_URL', 'sslcert and sslkey (client certificates) are not supported');
  }
  const rootCert = params.get('sslrootcert');
  if (rootCert !== null && rootCert !== 'system') {
    throw new ConfigError(
      'DATABASE_URL',
      "sslrootcert is not read from the URL: put the CA certificate's path in DATABASE_TLS_CA_FILE",
    );
  }
  const file = env.DATABASE_TLS_CA_FILE;
  if (file === undefined) return undefined;
  if (rootCert === 'system') {
    throw new ConfigError('DATABASE_TLS_CA_FILE', 'conflicts with sslrootcert=system in DATABASE_URL');
  }
  if (mode === 'disable') {
    throw new ConfigError(
      'DATABASE_TLS_CA_FILE',
      'is set but DATABASE_URL says sslmode=disable (no TLS); use sslmode=verify-full',
    );
  }
  if (mode === 'allow' || mode === 'prefer') {
    throw new ConfigError(
      'DATABASE_TLS_CA_FILE',
      `needs sslmode=verify-full, verify-ca or require in DATABASE_URL: sslmode=${mode} may connect unencrypted`,
    );
  }
  return { ca: readCertificates('DATABASE_TLS_CA_FILE', file) };
}

/** `TLS_CERT_FILE` and `TLS_KEY_FILE` read and checked to be a pair, or undefined when neither is set. */
export function serverTlsFromEnv(env: {
  readonly TLS_CERT_FILE?: string | undefined;
  readonly TLS_KEY_FILE?: string | undefined;
}): ServerTls | undefined {
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = env;
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) throw new ConfigError('TLS_CERT_FILE', 'is required when TLS_KEY_FILE is set');
  if (keyFile === undefined) throw new ConfigError('TLS_KEY_FILE', 'is required when TLS_CERT_FILE is set');
  const cert = readCertificates('TLS_CERT_FILE', certFile);
  const key = readSettingFile('TLS_KEY_FILE', keyFile);
  // The messages below name the file only: OpenSSL's own text could quote the key.
  try {
    createPrivateKey(key);
  } catch {
    throw new ConfigError(
      'TLS_KEY_FILE',
      `${keyFile} does not hold a PEM private key (or it is encrypted, which is not supported)`,
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    throw new ConfigError('TLS_KEY_FILE', `${keyFile} is not the key of the certificate in TLS_CERT_FILE`);
  }
  return new ServerTls(certFile, keyFile, cert, key);
}
