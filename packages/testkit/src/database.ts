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

/** A fresh database of its own, migrated, dropped by `drop()`. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const server = testDatabaseServerUrl();
  const name = uniqueName('inlet_test');
  const admin = postgres(withDatabase(server, 'postgres'), { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${quoteIdentifier(name)}`);
  const url = withDatabase(server, name);
  const sql = createSql(url, { max: 10 });
  if (options.migrate !== false) await migrate(sql);
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
