import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabaseOn } from './database.js';
import { type PostgresServer, startPostgresServer } from './postgres-server.js';

/** The error `promise` rejects with (failing the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<{ code?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: unknown };
  }
  throw new Error('expected the query to fail');
}

/** True while process `pid` runs; an exited one its parent has not reaped yet (a zombie) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true; // no /proc: kill(pid, 0) said it exists
  }
}

/** postgres.js and socket codes for "the server went away" / "nobody listens". */
const CONNECTION_ERROR = /^(ECONNREFUSED|ECONNRESET|EPIPE|CONNECTION_CLOSED|CONNECTION_ENDED|57P0[123])$/;

describe('startPostgresServer', () => {
  let server: PostgresServer | undefined;
  const clients: postgres.Sql[] = [];
  const client = (url: string) => {
    const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    clients.push(sql);
    return sql;
  };

  afterAll(async () => {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 }).catch(() => {})));
    await server?.stop();
  });

  it('runs a private server that a test can pause (connections drop) and resume with its data', async () => {
    server = await startPostgresServer();
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    expect(server.databaseUrl('other')).toBe(`postgres://postgres@127.0.0.1:${server.port}/other`);

    const pool = client(server.url);
    await pool`create table notes (id int primary key, body text not null)`;
    await pool`insert into notes ${pool([
      { id: 1, body: 'one' },
      { id: 2, body: 'two' },
    ])}`;

    await server.pause();
    expect(String((await rejection(pool`select 1`)).code)).toMatch(CONNECTION_ERROR);
    expect(String((await rejection(client(server.url)`select 1`)).code)).toMatch(CONNECTION_ERROR);

    await server.resume();
    const fresh = client(server.url);
    expect(await fresh`select id, body from notes order by id`).toEqual([
      { id: 1, body: 'one' },
      { id: 2, body: 'two' },
    ]);
    // The pool that lost its connection opens a new one.
    expect(await pool`select count(*)::int as n from notes`).toEqual([{ n: 2 }]);
  });

  it('creates databases on it with createDatabaseOn, migrated or not', async () => {
    if (!server) throw new Error('no server: the previous test failed');
    const migrated = await createDatabaseOn(server.url);
    const plain = await createDatabaseOn(server.url, { migrate: false });
    try {
      expect(migrated.url).toBe(server.databaseUrl(migrated.name));
      const tables = (db: typeof migrated) => db.sql<{ n: number }[]>`
        select count(*)::int as n from information_schema.tables where table_name = 'webhook_events'`;
      expect((await tables(migrated))[0]?.n).toBe(1);
      expect((await tables(plain))[0]?.n).toBe(0);
    } finally {
      await migrated.drop();
      await plain.drop();
    }
    const left = client(server.url)<{ n: number }[]>`
      select count(*)::int as n from pg_database where datname in (${migrated.name}, ${plain.name})`;
    expect((await left)[0]?.n).toBe(0);
  });

  it('stop() ends the server and removes its files', async () => {
    if (!server) throw new Error('no server: the previous test failed');
    const { url, dir } = server;
    const pid = Number((await readFile(path.join(dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    expect(alive(pid)).toBe(true);
    await server.stop();
    server = undefined;
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(String((await rejection(client(url)`select 1`)).code)).toMatch(CONNECTION_ERROR);
  });
});
