import { parseSources, type Sources } from '@inlet/config';
import { createApp } from '@inlet/ingest';
import { createEventQueue, createRedis, EventProducer } from '@inlet/queue';
import { createMemoryNonceStore } from '@inlet/signatures';
import { createTestDatabase, type TestDatabase, testRedisUrl, uniqueQueue, waitFor } from '@inlet/testkit';
import { createEventWorker, type Handler } from '@inlet/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The attack: a delivery captured once (body and signature) is sent again under a fresh delivery
// id, or none, for schemes that do not sign the id. Each copy gets its 202; the database must keep
// one row and the handler must run once. Real ingest app, real Redis queue, real worker, real
// PostgreSQL.

const logger = pino({ level: 'silent' });
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const sources: Sources = parseSources(
  {
    sources: {
      gh: { provider: 'github', secrets: ['gh-secret'] },
      shop: { provider: 'shopify', secrets: ['shop-secret'] },
      partner: {
        provider: 'hmac',
        secrets: ['partner-secret'],
        header: 'X-Partner-Signature',
        idempotency: { header: 'X-Partner-Delivery' },
      },
      'gh-open': { provider: 'github', secrets: ['gh-secret'], dedupeByContent: false },
      sw: { provider: 'standard-webhooks', secrets: [SW_SECRET] },
      numbered: {
        provider: 'hmac',
        secrets: ['numbered-secret'],
        header: 'X-Signature',
        idempotency: { jsonPointer: '/id' },
      },
    },
  },
  { env: {} },
);

async function signedHeaders(name: string, body: string, id: string): Promise<Record<string, string>> {
  const source = sources.get(name);
  if (!source) throw new Error(`no source ${name}`);
  return source.provider.sign(
    { body, secret: source.settings.secrets[0] ?? '', timestamp: Math.floor(Date.now() / 1000), id },
    source.settings,
  );
}

/** `headers` without any whose name matches `name`, case-insensitively. */
function without(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(([key]) => key.toLowerCase() !== name.toLowerCase()),
  );
}

describe('a replayed delivery under a fresh delivery id, through ingest, the queue and the worker', () => {
  const names = uniqueQueue();
  const producerConnection = createRedis(testRedisUrl(), 'producer');
  const producer = new EventProducer(createEventQueue(producerConnection, names), producerConnection);
  const workerConnection = createRedis(testRedisUrl(), 'worker');
  const app = createApp({ sources, producer, nonces: createMemoryNonceStore(), logger });
  const handled: string[] = [];
  const handler: Handler = async (event) => {
    handled.push(`${event.source}/${event.eventId}`);
  };
  let db: TestDatabase;
  let worker: ReturnType<typeof createEventWorker>;
  /** Jobs enqueued by the tests so far (deliveries with ids already queued excepted). */
  let accepted = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    await producer.waitUntilReady();
    worker = createEventWorker({
      connection: workerConnection,
      queue: names,
      sql: db.sql,
      logger,
      concurrency: 8,
      handlers: new Map([...sources.keys()].map((name) => [name, handler])),
    });
  });

  afterAll(async () => {
    await worker?.worker.close();
    workerConnection.disconnect();
    await producer.queue.obliterate({ force: true });
    await producer.close();
    await db?.drop();
  });

  async function post(name: string, body: string, headers: Record<string, string>): Promise<string> {
    const response = await app.request(`/webhooks/${name}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
    expect(response.status).toBe(202);
    accepted += 1;
    return ((await response.json()) as { id: string }).id;
  }

  /** Waits until the worker has settled every job sent so far, stored or not. */
  async function drained(): Promise<void> {
    await waitFor(
      () => worker.stats.stored + worker.stats.duplicates === accepted,
      30_000,
      'every delivery settled by the worker',
    );
  }

  async function rowsOf(name: string): Promise<string[]> {
    const rows = await db.sql<{ event_id: string }[]>`
      SELECT event_id FROM webhook_events WHERE source = ${name} ORDER BY received_at, event_id`;
    return rows.map((row) => row.event_id);
  }

  it.each([
    ['gh', 'X-GitHub-Delivery'],
    ['shop', 'X-Shopify-Webhook-Id'],
    ['partner', 'X-Partner-Delivery'],
  ])(
    '%s: the same signed body under a fresh %s, and under none, is stored once and handled once',
    async (name, idHeader) => {
      const body = `{"action":"opened","number":${accepted}}`;
      const original = await signedHeaders(name, body, `${name}-delivery-1`);
      if (name === 'partner') original['X-Partner-Delivery'] = `${name}-delivery-1`;
      expect(await post(name, body, original)).toBe(`${name}-delivery-1`);
      await drained();
      expect(
        await post(name, body, { ...without(original, idHeader), [idHeader]: `${name}-delivery-2` }),
      ).toBe(`${name}-delivery-2`);
      if (name !== 'partner') {
        // Without an id the event id falls back to the body's hash.
        expect(await post(name, body, without(original, idHeader))).toMatch(/^sha256:/);
      } else {
        // The header that names the event is required: without it there is nothing to store.
        const refused = await app.request(`/webhooks/${name}`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...without(original, idHeader) },
        });
        expect(refused.status).toBe(400);
      }
      await drained();
      expect(await rowsOf(name)).toEqual([`${name}-delivery-1`]);
      expect(handled.filter((entry) => entry.startsWith(`${name}/`))).toEqual([`${name}/${name}-delivery-1`]);
      // A genuinely new delivery of the source is still stored.
      const next = `{"action":"closed","number":${accepted}}`;
      await post(name, next, {
        ...(await signedHeaders(name, next, `${name}-delivery-3`)),
        [idHeader]: `${name}-delivery-3`,
      });
      await drained();
      expect(await rowsOf(name)).toEqual([`${name}-delivery-1`, `${name}-delivery-3`]);
    },
  );

  it('stores both copies for a source with dedupeByContent off', async () => {
    const body = '{"same":"body"}';
    const headers = await signedHeaders('gh-open', body, 'open-1');
    await post('gh-open', body, headers);
    await post('gh-open', body, { ...without(headers, 'X-GitHub-Delivery'), 'X-GitHub-Delivery': 'open-2' });
    await drained();
    expect((await rowsOf('gh-open')).sort()).toEqual(['open-1', 'open-2']);
    expect(handled.filter((entry) => entry.startsWith('gh-open/')).sort()).toEqual([
      'gh-open/open-1',
      'gh-open/open-2',
    ]);
  });

  it('leaves a scheme that signs its ids alone: identical bodies under two signed ids are two events', async () => {
    const body = '{"type":"ping"}';
    await post('sw', body, await signedHeaders('sw', body, 'msg_1'));
    await post('sw', body, await signedHeaders('sw', body, 'msg_2'));
    await drained();
    expect((await rowsOf('sw')).sort()).toEqual(['msg_1', 'msg_2']);
    const content =
      await db.sql`SELECT 1 FROM webhook_events WHERE source = 'sw' AND content_sha256 IS NOT NULL`;
    expect(content).toHaveLength(0);
  });

  it('gives numeric ids past 2^53 three events, not one', async () => {
    const ids = ['1234567890123456789', '1234567890123456790', '1234567890123456791'];
    const answered: string[] = [];
    for (const id of ids) {
      const body = `{"id":${id},"amount":1}`;
      answered.push(await post('numbered', body, await signedHeaders('numbered', body, 'unused')));
    }
    expect(answered).toEqual(ids);
    await drained();
    expect((await rowsOf('numbered')).sort()).toEqual(ids);
  });
});
