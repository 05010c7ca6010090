import { countEvents } from '@inlet/db';
import { createEventQueue, createRedis } from '@inlet/queue';
import { providers } from '@inlet/signatures';
import { exited, type TestDatabase, testRedisUrl, waitFor } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, runNode, type Stack, startStack } from './support.js';

describe('a signed delivery through the real ingest and worker processes', () => {
  let stack: Stack;
  let db: TestDatabase;
  let ingest: RunningProcess;
  let worker: RunningProcess;
  let env: Record<string, string>;
  let ingestUrl: string;

  beforeAll(async () => {
    stack = await startStack({
      sources: {
        gh: { provider: 'github', secrets: ['env:E2E_GITHUB_SECRET'] },
        sw: { provider: 'standard-webhooks', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] },
      },
      extraEnv: { E2E_GITHUB_SECRET: 'e2e-secret' },
      // Every log line, down to debug, is checked for secrets below.
      ingestEnv: { LOG_LEVEL: 'debug' },
    });
    ({ db, ingest, worker, env, ingestUrl } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const sendWithCli = (body: string, id: string) =>
    runNode('apps/cli/dist/main.js', env, ['send', '--source', 'gh', '--data', body, '--id', id]);

  it('stores one row with the raw body byte-exact, however often and however concurrently it is sent', async () => {
    const body = '{"zen":"Keep it logically awesome.",  "hook_id": 12345678901234567890}';
    const sends = [];
    for (let round = 0; round < 4; round += 1) {
      // Five at once, four rounds: twenty deliveries of one event.
      const batch = Array.from({ length: 5 }, () => sendWithCli(body, 'delivery-e2e-1'));
      sends.push(...batch);
      const codes = await Promise.all(batch.map((p) => exited(p.child)));
      expect(codes).toEqual([0, 0, 0, 0, 0]);
    }
    expect(sends.every((p) => p.output().startsWith('202 {"id":"delivery-e2e-1"}'))).toBe(true);
    await waitFor(async () => (await countEvents(db.sql, 'gh')) === 1, 15_000, 'the row');
    // Give any wrongly duplicated job time to land before counting again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await db.sql<{ body: string; event_id: string; event_type: string | null }[]>`
      select body, event_id, event_type from webhook_events where source = 'gh'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]?.body).toBe(body);
    expect(rows[0]?.event_id).toBe('delivery-e2e-1');
  });

  it('stores the event type a Standard Webhooks body carries, read from the payload by the database', async () => {
    const send = (body: string, id: string) =>
      runNode('apps/cli/dist/main.js', env, ['send', '--source', 'sw', '--data', body, '--id', id]);
    const typed = send('{"type":"invoice.paid","data":{"type":"nested"}}', 'msg_typed');
    const untyped = send('{"data":{"type":"nested"}}', 'msg_untyped');
    expect(await Promise.all([exited(typed.child), exited(untyped.child)])).toEqual([0, 0]);
    await waitFor(async () => (await countEvents(db.sql, 'sw')) === 2, 15_000, 'the rows');
    const rows = await db.sql<{ event_id: string; event_type: string | null }[]>`
      select event_id, event_type from webhook_events where source = 'sw' order by event_id`;
    expect(rows).toEqual([
      { event_id: 'msg_typed', event_type: 'invoice.paid' },
      { event_id: 'msg_untyped', event_type: null },
    ]);
  });

  it('refuses a tampered delivery and stores nothing for it', async () => {
    const run = runNode('apps/cli/dist/main.js', env, [
      'send',
      '--source',
      'gh',
      '--data',
      '{"a":1}',
      '--id',
      'tampered',
      '--tamper',
    ]);
    expect(await exited(run.child)).toBe(1);
    expect(run.output()).toMatch(/^401 .*invalid_signature/);
    const rows = await db.sql`select 1 from webhook_events where event_id = 'tampered'`;
    expect(rows).toHaveLength(0);
  });

  it('logs one line per delivery with its request id, and never a secret or a signature', () => {
    const lines = ingest
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const accepted = lines.filter((line) => line.msg === 'accepted' && line.source !== 'sw');
    expect(accepted.length).toBeGreaterThanOrEqual(20);
    for (const line of accepted) {
      expect(line).toMatchObject({ source: 'gh', status: 202, eventId: 'delivery-e2e-1' });
      expect(typeof line.requestId).toBe('string');
      expect(typeof line.ms).toBe('number');
    }
    expect(lines.some((line) => line.msg === 'refused' && line.code === 'invalid_signature')).toBe(true);
    const text = ingest.output();
    expect(text).not.toContain('e2e-secret');
    expect(text).not.toMatch(/sha256=[0-9a-f]{64}/);
    expect(text).not.toContain('Keep it logically awesome');
  });

  it('drains jobs in flight on SIGTERM and exits 0', async () => {
    for (let i = 0; i < 30; i += 1) {
      const response = await fetch(`${ingestUrl}/webhooks/gh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...githubHeaders(`{"n":${i}}`, `drain-${i}`) },
        body: `{"n":${i}}`,
      });
      expect(response.status).toBe(202);
    }
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).not.toMatch(/"level":(50|60)/);
    // Nothing was left half-done: every event is either stored or still waiting for a worker.
    const connection = createRedis(testRedisUrl(), 'producer');
    const queue = createEventQueue(connection, {
      name: env.INLET_QUEUE ?? '',
      prefix: env.INLET_QUEUE_PREFIX ?? '',
    });
    try {
      const counts = await queue.getJobCounts('active', 'waiting', 'failed');
      const stored = await db.sql<
        { n: number }[]
      >`select count(*)::int as n from webhook_events where event_id like 'drain-%'`;
      expect(counts.active).toBe(0);
      expect(counts.failed).toBe(0);
      expect((stored[0]?.n ?? 0) + (counts.waiting ?? 0)).toBe(30);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});

function githubHeaders(body: string, id: string): Record<string, string> {
  return providers.github.sign(
    { body, secret: 'e2e-secret', timestamp: 0, id },
    { secrets: ['e2e-secret'], toleranceSeconds: 300 },
  );
}
