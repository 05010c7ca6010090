import { randomBytes } from 'node:crypto';
import { type CreateSqlOptions, createSql, type Sql } from './client.js';

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function urlFor(database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A throwaway database with a random name, so test files and parallel runs never share state. */
export class TestDatabase {
  readonly name: string;
  readonly url: string;
  private readonly clients: Sql[] = [];

  private constructor(name: string) {
    this.name = name;
    this.url = urlFor(name);
  }

  static async create(): Promise<TestDatabase> {
    const database = new TestDatabase(`inlet_test_${randomBytes(6).toString('hex')}`);
    const admin = createSql(urlFor('postgres'), { max: 1 });
    try {
      await admin.unsafe(`CREATE DATABASE ${database.name}`);
    } finally {
      await admin.end();
    }
    return database;
  }

  /** A client of this database, closed by `drop`. */
  connect(options: CreateSqlOptions = {}): Sql {
    const sql = createSql(this.url, options);
    this.clients.push(sql);
    return sql;
  }

  async drop(): Promise<void> {
    await Promise.all(this.clients.map((sql) => sql.end({ timeout: 5 })));
    const admin = createSql(urlFor('postgres'), { max: 1 });
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}
