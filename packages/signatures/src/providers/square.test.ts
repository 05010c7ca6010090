import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { square } from './square.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });
const payloadError = expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' });

// The vector of Square's SDKs' WebhooksHelper tests.
const signatureKey = 'Ibxx_5AKakO-3qeNVR61Dw';
const url = 'https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9';
const body =
  '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}';
const vector = 'GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=';

const source = { secrets: [signatureKey], toleranceSeconds: 300, ...square.optionsSchema.parse({ url }) };

function base64Hmac(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('base64');
}

function request(headers: Record<string, string>, requestBody = body) {
  return createDeliveryRequest({ body: requestBody, headers });
}

const verified = { eventId: 'ac3ac95b-f97d-458c-a6e6-18981597e05f', eventType: 'webhooks.test_notification' };

describe('square options', () => {
  it('requires an absolute http(s) url', () => {
    expect(square.optionsSchema.parse({ url })).toEqual({ url });
  });

  it.each([
    ['no url', {}],
    ['a relative url', { url: '/webhooks/square' }],
    ['another scheme', { url: 'ws://webhook.site/x' }],
  ])('refuses %s', (_case, options) => {
    expect(square.optionsSchema.safeParse(options).success).toBe(false);
  });
});

describe('square', () => {
  it('verifies the SDK test vector and reads the event id and type from the body', () => {
    expect(square.verify(request({ 'x-square-hmacsha256-signature': vector }), source)).toEqual(verified);
  });

  it('signs the SDK test vector', () => {
    expect(square.sign({ body, secret: signatureKey, timestamp: 0, id: 'unused' }, source)).toEqual({
      'x-square-hmacsha256-signature': vector,
    });
  });

  it('reads header names in any case', () => {
    expect(square.verify(request({ 'X-Square-HmacSha256-Signature': vector }), source)).toEqual(verified);
  });

  it('round-trips sign and verify', () => {
    const payload = '{"type":"payment.updated","event_id":"evt-2","data":{}}';
    const headers = square.sign({ body: payload, secret: 'key-2', timestamp: 0, id: 'unused' }, source);
    expect(square.verify(request(headers, payload), { ...source, secrets: ['key-2'] })).toEqual({
      eventId: 'evt-2',
      eventType: 'payment.updated',
    });
  });

  it.each([
    ['the host the Host header claims', 'https://ingest.internal/679a4f3a-dcfa-49ee-bac5-9d0edad886b9'],
    ['another path', 'https://webhook.site/another-path'],
    ['a trailing slash', `${url}/`],
    ['an explicit port', url.replace('webhook.site', 'webhook.site:443')],
    ['http instead of https', url.replace('https:', 'http:')],
  ])('refuses a signature made for %s', (_case, otherUrl) => {
    const headers = { 'x-square-hmacsha256-signature': base64Hmac(signatureKey, otherUrl + body) };
    expect(() => square.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses the vector when the source is configured with another url', () => {
    const elsewhere = { ...source, url: 'https://hooks.example.com/webhooks/square' };
    expect(() => square.verify(request({ 'x-square-hmacsha256-signature': vector }), elsewhere)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a signature of the body alone', () => {
    const headers = { 'x-square-hmacsha256-signature': base64Hmac(signatureKey, body) };
    expect(() => square.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('MLEFBHHSJGVHD', 'MLEFBHHSJGVHE');
    expect(() =>
      square.verify(request({ 'x-square-hmacsha256-signature': vector }, tampered), source),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong signature key', () => {
    expect(() =>
      square.verify(request({ 'x-square-hmacsha256-signature': vector }), { ...source, secrets: ['other'] }),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('accepts the old and the new key while both are configured (rotation)', () => {
    const rotated = { ...source, secrets: ['new-key', signatureKey] };
    expect(() => square.verify(request({ 'x-square-hmacsha256-signature': vector }), rotated)).not.toThrow();
    const headers = { 'x-square-hmacsha256-signature': base64Hmac('new-key', url + body) };
    expect(() => square.verify(request(headers), rotated)).not.toThrow();
  });

  it('reports a missing header, even when the legacy SHA-1 header is present', () => {
    expect(() => square.verify(request({}), source)).toThrow(failsWith('missing_signature'));
    const legacy = createHmac('sha1', signatureKey)
      .update(url + body)
      .digest('base64');
    expect(() => square.verify(request({ 'x-square-signature': legacy }), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  it.each([
    ['non-base64 characters', `${vector.slice(0, -2)}!!`],
    [
      'a hex digest',
      createHmac('sha256', signatureKey)
        .update(url + body)
        .digest('hex'),
    ],
    ['a prefix', `sha256=${vector}`],
    ['a truncated digest', vector.slice(0, 16)],
    ['a huge value', 'A'.repeat(9000)],
  ])('refuses %s as invalid_signature', (_case, value) => {
    expect(() => square.verify(request({ 'x-square-hmacsha256-signature': value }), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a correctly signed body that is not a JSON object with invalid_payload', () => {
    for (const payload of ['not json', '["event"]']) {
      const headers = { 'x-square-hmacsha256-signature': base64Hmac(signatureKey, url + payload) };
      expect(() => square.verify(request(headers, payload), source)).toThrow(payloadError);
    }
  });

  it('checks the signature before the body, so a forged non-JSON body is a signature failure', () => {
    expect(() =>
      square.verify(request({ 'x-square-hmacsha256-signature': vector }, 'not json'), source),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('lists the current and the legacy signature headers as credentials', () => {
    expect(square.credentialHeaders).toEqual(['x-square-hmacsha256-signature', 'x-square-signature']);
  });
});
