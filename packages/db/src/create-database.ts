import postgres from 'postgres';
import type { SslOptions } from './ssl-options.js';

/**
 * Creates the database named in `url` when the server says it does not exist (SQLSTATE 3D000).
 * Returns true when it created it. Works on PostgreSQL and CockroachDB.
 */
export async function createDatabaseIfMissing(
  url: string,
  options: { ssl?: SslOptions | undefined } = {},
): Promise<boolean> {
  const tls = options.ssl === undefined ? {} : { ssl: options.ssl };
  const probe = postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {}, ...tls });
  try {
    await probe`select 1`;
    return false;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error;
  } finally {
    await probe.end({ timeout: 5 });
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, connect_timeout: 10, onnotice: () => {}, ...tls });
  try {
    // PostgreSQL has no CREATE DATABASE IF NOT EXISTS; 42P04 means another host created it first.
    await sql.unsafe(`CREATE DATABASE ${quoteIdentifier(name)}`).catch((error: { code?: string }) => {
      if (error.code !== '42P04') throw error;
    });
    return true;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
