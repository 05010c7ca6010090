import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { countEvents, createSql } from '@inlet/db';
import {
  exited,
  freePort,
  testDatabaseServerUrl,
  testRedisUrl,
  uniqueName,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningProcess, removeQueue, runNode } from './support.js';

describe('npm start', () => {
  const databaseName = uniqueName('inlet_start');
  const databaseUrl = (() => {
    const url = new URL(testDatabaseServerUrl());
    url.pathname = `/${databaseName}`;
    return url.toString();
  })();
  let dir = '';
  let start: RunningProcess | undefined;
  const queue = uniqueQueue();

  afterAll(async () => {
    await start?.stop('SIGINT');
    await removeQueue(queue);
    const admin = postgres(testDatabaseServerUrl(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    await admin.end();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts the stack, prints a send command that stores one row however often it runs, and stops on Ctrl-C', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-start-'));
    const sourcesFile = path.join(dir, 'inlet.sources.json');
    const env = {
      // This checkout is built by the test run itself; a fresh clone is installed and built by start.
      INLET_SKIP_BUILD: '1',
      REDIS_URL: testRedisUrl(),
      DATABASE_URL: databaseUrl,
      INLET_SOURCES: sourcesFile,
      INLET_QUEUE: queue.name,
      INLET_QUEUE_PREFIX: queue.prefix,
      PORT: String(await freePort()),
      WORKER_METRICS_PORT: String(await freePort()),
      DASHBOARD_PORT: String(await freePort()),
      // As a user runs it: the apps' info lines are what npm start shows.
      LOG_LEVEL: 'info',
    };
    start = runNode('scripts/start.mjs', env);
    const running = start;
    await waitFor(
      () => {
        if (running.child.exitCode !== null) throw new Error(`npm start exited:\n${running.output()}`);
        return running.output().includes('Press Ctrl-C to stop.');
      },
      180_000,
      'npm start to be ready',
    );
    // It wrote an example sources file, since there was none.
    const written = JSON.parse(await readFile(sourcesFile, 'utf8')) as { sources: Record<string, unknown> };
    expect(Object.keys(written.sources)).toContain('acme');
    // Each app's log records are one readable line under its name, not raw JSON.
    expect(running.output()).toMatch(/^\[ingest\] \[[\d:.]+\] INFO: ingest listening /m);
    expect(running.output()).toMatch(/^\[worker\] \[[\d:.]+\] INFO: worker running /m);
    expect(running.output()).not.toMatch(/^\[(ingest|worker|dashboard)\] \{"level"/m);

    const command = /^\s+npx inlet (send .*)$/m.exec(running.output())?.[1];
    expect(command).toBeDefined();
    const args = (command ?? '').split(/\s+/);
    for (let i = 0; i < 3; i += 1) {
      const send = runNode('apps/cli/dist/main.js', env, args);
      expect(await exited(send.child)).toBe(0);
      expect(send.output()).toMatch(/^202 \{"id":"msg_[0-9a-f]{24}"\}/);
    }
    const sql = createSql(databaseUrl, { max: 1 });
    try {
      await waitFor(async () => (await countEvents(sql, 'acme')) === 1, 15_000, 'the row');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await countEvents(sql, 'acme')).toBe(1);
    } finally {
      await sql.end();
    }

    // The dashboard runs too, with a password made for this run and printed once.
    const dashboard = /^\s+Dashboard (http:\S+) +\(user admin, password (\S+)\)$/m.exec(running.output());
    expect(dashboard?.[1]).toBe(`http://127.0.0.1:${env.DASHBOARD_PORT}/`);
    const authorization = `Basic ${Buffer.from(`admin:${dashboard?.[2]}`).toString('base64')}`;
    const events = await fetch(`${dashboard?.[1]}api/events?source=acme`, { headers: { authorization } });
    expect(events.status).toBe(200);
    expect(((await events.json()) as { events: unknown[] }).events).toHaveLength(1);
    expect((await fetch(`${dashboard?.[1]}api/events`)).status).toBe(401);

    expect(await running.stop('SIGINT')).toBe(0);
    expect(running.output()).toContain('inlet: stopped');
  });
});
