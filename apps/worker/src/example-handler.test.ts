import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSources } from '@inlet/config';
import type { EventJob } from '@inlet/queue';
import { createTestDatabase, type TestDatabase } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchWriter } from './batch-writer.js';
import { loadHandlers } from './handlers.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples/handlers');

describe('the shipped example handler (Stripe invoice.paid)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.sql.unsafe(await readFile(path.join(examples, 'invoices.sql'), 'utf8'));
  });
  afterAll(async () => {
    await db.drop();
  });

  it('marks the invoice paid once, however often Stripe delivers the event', async () => {
    const sources = parseSources(
      { sources: { stripe: { provider: 'stripe', secrets: ['x'], handler: './stripe-invoice-paid.mjs' } } },
      { file: path.join(examples, 'inlet.sources.json') },
    );
    const handlers = await loadHandlers(sources);
    const writer = new BatchWriter({ sql: db.sql, maxBatchSize: 10, maxConcurrentBatches: 2, handlers });
    const body = JSON.stringify({
      id: 'evt_1',
      type: 'invoice.paid',
      data: {
        object: {
          id: 'in_1',
          customer: 'cus_9',
          amount_paid: 4200,
          currency: 'eur',
          status_transitions: { paid_at: 1700000000 },
        },
      },
    });
    const job: EventJob = {
      source: 'stripe',
      eventId: 'evt_1',
      eventType: 'invoice.paid',
      headers: { 'content-type': 'application/json' },
      body,
      receivedAt: Date.now(),
    };
    await Promise.all([writer.write(job), writer.write(job), writer.write(job)]);
    const rows =
      await db.sql`SELECT id, customer, amount_paid::int AS amount_paid, currency, stripe_event_id FROM invoices`;
    expect(rows).toEqual([
      { id: 'in_1', customer: 'cus_9', amount_paid: 4200, currency: 'eur', stripe_event_id: 'evt_1' },
    ]);
  });
});
