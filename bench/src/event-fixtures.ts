import type { EventJob } from '@inlet/queue';

/** Size of every event body, in bytes: a typical provider payload. */
export const BODY_BYTES = 1400;

export const BENCH_SOURCE = 'bench';

const INDEX_DIGITS = 9;

/** The `n`-th event of a run: a JSON body of exactly BODY_BYTES bytes whose id no other event shares. */
export function benchEvent(runId: string, n: number, receivedAt: number): EventJob {
  const eventId = `evt_${runId}_${String(n).padStart(INDEX_DIGITS, '0')}`;
  return {
    source: BENCH_SOURCE,
    eventId,
    eventType: 'invoice.paid',
    headers: { 'content-type': 'application/json', 'user-agent': 'inlet-bench/1.0', 'webhook-id': eventId },
    body: benchBody(eventId, receivedAt),
    receivedAt,
  };
}

/**
 * The JSON body of the event `eventId`: exactly BODY_BYTES bytes for any id of the width benchEvent
 * makes (and any other id of the same length, which the load generator relies on).
 */
export function benchBody(eventId: string, receivedAt: number): string {
  const payload = {
    id: eventId,
    object: 'event',
    type: 'invoice.paid',
    created: Math.floor(receivedAt / 1000),
    livemode: false,
    data: {
      object: {
        id: `in_${eventId}`,
        object: 'invoice',
        amount_due: 4200,
        amount_paid: 4200,
        currency: 'eur',
        customer: 'cus_Q4x8Lm2ZkT9bRw',
        customer_email: 'billing@example.com',
        lines: [
          { id: 'il_1', amount: 3000, description: 'Team plan (monthly)', quantity: 1 },
          { id: 'il_2', amount: 1200, description: 'Extra seats', quantity: 3 },
        ],
        metadata: { order: '20817', region: 'eu-west', channel: 'web' },
        status: 'paid',
      },
    },
    notes: '',
  };
  const unpadded = JSON.stringify(payload);
  // Ids are fixed-width and timestamps have 10 or 13 digits for centuries, so the padding is exact.
  payload.notes = 'x'.repeat(Math.max(0, BODY_BYTES - Buffer.byteLength(unpadded)));
  return JSON.stringify(payload);
}

/**
 * Bodies for ids as wide as `placeholderId`, made by splicing the id into one body made up front:
 * cheap enough for a load generator that must not steal the CPU it measures.
 */
export function bodyTemplate(placeholderId: string, receivedAt: number): (eventId: string) => string {
  const parts = benchBody(placeholderId, receivedAt).split(placeholderId);
  return (eventId) => parts.join(eventId);
}
