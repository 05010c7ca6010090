import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEventQueue, createRedis, type EventJob } from '@inlet/queue';
import {
  createTestDatabase,
  exited,
  freePort,
  type TestDatabase,
  testRedisUrl,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

describe('the worker process', () => {
  let db: TestDatabase;
  let dir: string;
  const names = uniqueQueue();
  const connection = createRedis(testRedisUrl(), 'producer');
  const queue = createEventQueue(connection, names);
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-worker-'));
    await writeFile(
      path.join(dir, 'hang.mjs'),
      'export function handle() { return new Promise(() => {}); }\n',
    );
    await writeFile(
      path.join(dir, 'inlet.sources.json'),
      JSON.stringify({
        sources: {
          hang: {
            provider: 'standard-webhooks',
            secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
            handler: './hang.mjs',
          },
        },
      }),
    );
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('exits on SIGTERM by its shutdown deadline although a handler never returns, leaving the job to run again', async () => {
    const port = await freePort();
    const worker = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        REDIS_URL: testRedisUrl(),
        DATABASE_URL: db.url,
        INLET_SOURCES: path.join(dir, 'inlet.sources.json'),
        INLET_QUEUE: names.name,
        INLET_QUEUE_PREFIX: names.prefix,
        WORKER_METRICS_PORT: String(port),
        INLET_HANDLER_TIMEOUT_MS: '600000',
        INLET_SHUTDOWN_TIMEOUT_MS: '1000',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = worker;
    let output = '';
    worker.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    worker.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const event: EventJob = {
      source: 'hang',
      eventId: 'evt_1',
      eventType: 'test.event',
      headers: { 'content-type': 'application/json' },
      body: '{"id":"evt_1"}',
      receivedAt: Date.now(),
    };
    await queue.add('hang', event, { jobId: 'hang-1' });
    await waitFor(
      async () => {
        if (worker.exitCode !== null) throw new Error(`exited early:\n${output}`);
        return (await queue.getActiveCount()) === 1;
      },
      20_000,
      'the job in flight',
    );
    worker.kill('SIGTERM');
    // It finishes at all: without the deadline it would wait for the handler for ever.
    const code = await Promise.race([
      exited(worker),
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 25_000).unref()),
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('shutdown deadline passed');
    expect(await queue.getJobState('hang-1')).toBe('active');
  });
});
