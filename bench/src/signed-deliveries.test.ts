import { createDeliveryRequest, standardWebhooks } from '@inlet/signatures';
import { describe, expect, it } from 'vitest';
import { BODY_BYTES } from './event-fixtures.js';
import { generateBenchSecret, SignedDeliveries } from './signed-deliveries.js';

describe('SignedDeliveries', () => {
  it('signs each delivery the way the standard-webhooks verifier of ingest checks it', async () => {
    const secret = generateBenchSecret();
    const now = 1_700_000_000_000;
    const deliveries = new SignedDeliveries({ runId: 'a1b2c3d4', tag: 'i1', secret, now: () => now });
    for (let n = 0; n < 3; n++) {
      const delivery = deliveries.next();
      expect(Buffer.byteLength(delivery.body)).toBe(BODY_BYTES);
      expect(JSON.parse(delivery.body)).toMatchObject({ id: delivery.id });
      const verified = await standardWebhooks.verify(
        createDeliveryRequest({ body: delivery.body, headers: delivery.headers, now }),
        { secrets: [secret], toleranceSeconds: 300 },
      );
      expect(verified.eventId).toBe(delivery.id);
    }
    expect(deliveries.count).toBe(3);
  });

  it('gives every delivery an id of its own, with the prefix of its phase', () => {
    const deliveries = new SignedDeliveries({ runId: 'a1b2c3d4', tag: 'e2', secret: generateBenchSecret() });
    const ids = Array.from({ length: 1000 }, () => deliveries.next().id);
    expect(new Set(ids).size).toBe(1000);
    expect(ids.every((id) => id.startsWith(deliveries.idPrefix))).toBe(true);
  });
});
