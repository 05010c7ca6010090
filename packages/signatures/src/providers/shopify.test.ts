import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { shopify } from './shopify.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

const secret = 'shpss_0123456789abcdef';
const body = '{"id":820982911946154508,"email":"jon@example.com","total_price":"403.00"}';
const source = { secrets: [secret], toleranceSeconds: 300 };

function base64Hmac(key: string, content: string | Uint8Array): string {
  return createHmac('sha256', key).update(content).digest('base64');
}

const good = base64Hmac(secret, body);

function request(headers: Record<string, string>, requestBody: string | Uint8Array = body) {
  return createDeliveryRequest({ body: requestBody, headers });
}

describe('shopify', () => {
  it('signs the body as base64 HMAC-SHA256 and names the delivery and topic', () => {
    expect(shopify.sign({ body, secret, timestamp: 0, id: 'wh-1' }, source)).toEqual({
      'X-Shopify-Hmac-Sha256': good,
      'X-Shopify-Webhook-Id': 'wh-1',
      'X-Shopify-Topic': 'inlet/test',
    });
  });

  it('verifies an independently computed signature and reads the webhook id and topic', () => {
    const headers = {
      'X-Shopify-Hmac-Sha256': good,
      'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      'X-Shopify-Event-Id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
      'X-Shopify-Topic': 'orders/create',
    };
    expect(shopify.verify(request(headers), source)).toEqual({
      eventId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      eventType: 'orders/create',
    });
  });

  it('reads header names in any case', () => {
    const headers = {
      'x-shopify-hmac-sha256': good,
      'X-SHOPIFY-WEBHOOK-ID': 'wh-2',
      'x-shopify-topic': 'a/b',
    };
    expect(shopify.verify(request(headers), source)).toEqual({ eventId: 'wh-2', eventType: 'a/b' });
  });

  it('falls back to the event id, then to none', () => {
    const withEventId = { 'X-Shopify-Hmac-Sha256': good, 'X-Shopify-Event-Id': 'ev-1' };
    expect(shopify.verify(request(withEventId), source)).toEqual({ eventId: 'ev-1', eventType: undefined });
    expect(shopify.verify(request({ 'X-Shopify-Hmac-Sha256': good }), source)).toEqual({
      eventId: undefined,
      eventType: undefined,
    });
  });

  it('round-trips sign and verify', () => {
    const headers = shopify.sign({ body: 'anything at all', secret, timestamp: 0, id: 'wh-3' }, source);
    expect(shopify.verify(request(headers, 'anything at all'), source)).toEqual({
      eventId: 'wh-3',
      eventType: 'inlet/test',
    });
  });

  it('verifies the raw bytes, not a re-serialised or re-decoded body', () => {
    const bytes = Buffer.concat([
      Buffer.from('{ "a" : 1,\n "b": "'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('" }'),
    ]);
    const headers = { 'X-Shopify-Hmac-Sha256': base64Hmac(secret, bytes) };
    expect(() => shopify.verify(request(headers, bytes), source)).not.toThrow();
    expect(() => shopify.verify(request(headers, '{"a":1,"b":"\ufffd\ufffd"}'), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('403.00', '0.01');
    expect(() => shopify.verify(request({ 'X-Shopify-Hmac-Sha256': good }, tampered), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a wrong secret', () => {
    const headers = { 'X-Shopify-Hmac-Sha256': base64Hmac('not the secret', body) };
    expect(() => shopify.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });

  it('accepts the old and the new secret while both are configured (rotation)', () => {
    const rotated = { ...source, secrets: ['shpss_new', secret] };
    for (const key of ['shpss_new', secret]) {
      const headers = { 'X-Shopify-Hmac-Sha256': base64Hmac(key, body) };
      expect(() => shopify.verify(request(headers), rotated)).not.toThrow();
    }
  });

  it('reports a missing header', () => {
    expect(() => shopify.verify(request({}), source)).toThrow(failsWith('missing_signature'));
    expect(() => shopify.verify(request({ 'X-Shopify-Hmac-Sha256': '' }), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  it.each([
    ['non-base64 characters', `${good.slice(0, -2)}!!`],
    ['misplaced padding', `=${good}`],
    ['a hex digest', createHmac('sha256', secret).update(body).digest('hex')],
    ['a prefix', `sha256=${good}`],
    ['a truncated digest', good.slice(0, 20)],
    ['garbage', 'not a signature'],
    ['a huge value', 'A'.repeat(9000)],
  ])('refuses %s as invalid_signature', (_case, value) => {
    expect(() => shopify.verify(request({ 'X-Shopify-Hmac-Sha256': value }), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('lists its credential header', () => {
    expect(shopify.credentialHeaders).toEqual(['x-shopify-hmac-sha256']);
  });
});
