import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { insertEvent } from '@inlet/db';
import { createEventQueue, createRedis, type EventJob } from '@inlet/queue';
import { createTestDatabase, type TestDatabase, testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built CLI, as operators run it (`npm run build` first; turbo's test task builds it).
const cli = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const names = uniqueQueue();
const connection = createRedis(testRedisUrl(), 'producer');
const queue = createEventQueue(connection, names);
const failedNames = uniqueQueue();
const failedQueue = createEventQueue(connection, failedNames);
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await queue.waitUntilReady();
});

afterAll(async () => {
  for (const each of [queue, failedQueue]) {
    await each.obliterate({ force: true });
    await each.close();
  }
  connection.disconnect();
  await database?.drop();
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function inlet(...args: string[]): Promise<Run> {
  return inletOn(names, ...args);
}

function inletOn(queueNames: { name: string; prefix: string }, ...args: string[]): Promise<Run> {
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    REDIS_URL: testRedisUrl(),
    INLET_QUEUE: queueNames.name,
    INLET_QUEUE_PREFIX: queueNames.prefix,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

async function stored(source: string, eventId: string, receivedAt: Date): Promise<string> {
  const { id } = await insertEvent(database.sql, {
    source,
    eventId,
    eventType: 'push',
    headers: { 'x-github-event': 'push' },
    body: `{"delivery":"${eventId}"}`,
    payloadJson: null,
    receivedAt,
  });
  if (id === null) throw new Error(`${eventId} was not inserted`);
  return id;
}

describe('inlet replay', () => {
  it('replays one stored event by id and says which job carries it', async () => {
    const id = await stored('github', 'delivery-1', new Date('2026-11-22T09:00:00Z'));

    const run = await inlet('replay', '--id', id);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    const match = /^replayed event (\S+) \(github\/delivery-1\) as job (\S+)\n$/.exec(run.stdout);
    expect(match?.[1]).toBe(id);
    const job = await queue.getJob(match?.[2] ?? '');
    expect(job?.data).toEqual({
      source: 'github',
      eventId: 'delivery-1',
      eventType: 'push',
      headers: { 'x-github-event': 'push' },
      body: '{"delivery":"delivery-1"}',
      receivedAt: Date.parse('2026-11-22T09:00:00Z'),
      replay: true,
    });
  });

  it('replays the events of a source in a time range', async () => {
    const before = await queue.getWaitingCount();
    await stored('acme', 'a-1', new Date('2026-11-20T10:00:00Z'));
    await stored('acme', 'a-2', new Date('2026-11-20T11:00:00Z'));
    await stored('acme', 'a-3', new Date('2026-11-20T12:00:00Z'));
    await stored('acme', 'a-late', new Date('2026-11-21T12:00:00Z'));
    await stored('other', 'o-1', new Date('2026-11-20T11:00:00Z'));

    const run = await inlet(
      'replay',
      '--source',
      'acme',
      '--since',
      '2026-11-20T10:00:00Z',
      '--until',
      '2026-11-21T00:00:00Z',
      '--batch-size',
      '2',
    );

    expect(run).toMatchObject({ code: 0, stdout: 'replayed 3 events of source acme\n', stderr: '' });
    expect(await queue.getWaitingCount()).toBe(before + 3);
    const replayed = (await queue.getJobs(['wait'])).filter((job) => job.data.source === 'acme');
    expect(replayed.map((job) => job.data.eventId).sort()).toEqual(['a-1', 'a-2', 'a-3']);
  });

  it('accepts a duration ago for --since', async () => {
    await stored('recent', 'r-1', new Date(Date.now() - 10 * 60_000));
    await stored('recent', 'r-old', new Date(Date.now() - 3 * 3_600_000));

    const run = await inlet('replay', '--source', 'recent', '--since', '1h');

    expect(run).toMatchObject({ code: 0, stdout: 'replayed 1 events of source recent\n' });
  });

  it('moves failed jobs back to waiting', async () => {
    await failedQueue.addBulk(
      ['f-1', 'f-2', 'f-3'].map((eventId, i) => ({
        name: 'acme',
        data: { source: 'acme', eventId, eventType: null, headers: {}, body: '{}', receivedAt: i },
        opts: { jobId: `acme/${eventId}`, attempts: 1 },
      })),
    );
    const workerConnection = createRedis(testRedisUrl(), 'worker');
    const worker = new Worker<EventJob>(
      failedNames.name,
      async () => {
        throw new Error('the handler broke');
      },
      { connection: workerConnection, prefix: failedNames.prefix },
    );
    worker.on('error', () => {});
    await waitFor(async () => (await failedQueue.getFailedCount()) === 3, 10_000, 'the jobs to fail');
    await worker.close();
    workerConnection.disconnect();

    const run = await inletOn(failedNames, 'replay', '--failed');

    expect(run).toMatchObject({ code: 0, stdout: 'retried 3 failed jobs\n', stderr: '' });
    expect(await failedQueue.getFailedCount()).toBe(0);
    expect(await failedQueue.getWaitingCount()).toBe(3);
  });

  it.each([
    [[]],
    [['--id', 'x', '--failed']],
    [['--source', 'acme']],
    [['--source', 'acme', '--since', 'yesterday']],
    [['--source', 'acme', '--since', '1h', '--until', '2h']],
    [['--failed', '--since', '1h']],
    [['--failed', '--batch-size', '0']],
    [['--id', 'x', '--verbose']],
    [['--failed', 'now']],
  ])('refuses replay %j as a usage error (exit 2)', async (args) => {
    const run = await inlet('replay', ...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^inlet: /);
  });

  it('answers an unknown id with exit 1 and enqueues nothing', async () => {
    const before = await queue.count();
    const run = await inlet('replay', '--id', '00000000-0000-4000-8000-000000000000');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('inlet: no stored event has the id "00000000-0000-4000-8000-000000000000"\n');
    expect(await queue.count()).toBe(before);
  });

  it('documents the command', async () => {
    expect((await inlet('--help')).stdout).toContain('replay --id UUID');
    const help = await inlet('replay', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--since TIME');
  });
});
