import { createSql, migrate, quoteIdentifier, type Sql } from '@inlet/db';
import postgres from 'postgres';
import { testDatabaseServerUrl, uniqueName } from './names.js';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  readonly sql: Sql;
  drop(): Promise<void>;
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A fresh database of its own on the server of `serverUrl` (any database of it), migrated unless
 * `migrate: false`, dropped by `drop()`.
 */
export async function createDatabaseOn(
  serverUrl: string,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = uniqueName('inlet_test');
  const admin = postgres(withDatabase(serverUrl, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${quoteIdentifier(name)}`);
  } catch (error) {
    await admin.end({ timeout: 5 });
    throw error;
  }
  const url = withDatabase(serverUrl, name);
  const sql = createSql(url, { max: 10 });
  if (options.migrate !== false) {
    try {
      await migrate(sql);
    } catch (error) {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`).catch(() => {});
      await admin.end({ timeout: 5 });
      throw error;
    }
  }
  return {
    url,
    name,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/** A fresh database of its own on the test database server (DATABASE_URL), migrated, dropped by `drop()`. */
export function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  return createDatabaseOn(testDatabaseServerUrl(), options);
}
