import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { generateStandardWebhooksKeyPair, standardWebhooksKey } from './standard-webhooks.js';
import { svix } from './svix.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

// The vector Svix's libraries test against (the same as the Standard Webhooks specification's).
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const body = '{"test": 2432232314}';
const vector = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const now = timestamp * 1000;
const source = { secrets: [secret], toleranceSeconds: 300 };
const otherSecret = 'whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==';

function headersFor(signature: string, overrides: Record<string, string> = {}): Record<string, string> {
  return { 'svix-id': id, 'svix-timestamp': String(timestamp), 'svix-signature': signature, ...overrides };
}

function request(headers: Record<string, string>, requestBody = body, at = now) {
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

function signatureWith(key: string, content: string): string {
  const raw = standardWebhooksKey(key);
  if (raw === undefined) throw new Error('bad test key');
  return `v1,${createHmac('sha256', raw).update(content).digest('base64')}`;
}

describe('svix', () => {
  it('is its own provider with svix-* headers', () => {
    expect(svix.name).toBe('svix');
    expect(svix.credentialHeaders).toEqual(['svix-signature']);
  });

  it('signs the test vector', () => {
    expect(svix.sign({ body, secret, timestamp, id }, source)).toEqual({
      'svix-id': id,
      'svix-timestamp': String(timestamp),
      'svix-signature': vector,
    });
  });

  it('verifies the test vector and takes svix-id as the event id', () => {
    expect(svix.verify(request(headersFor(vector)), source)).toEqual({ eventId: id, eventTypeField: 'type' });
  });

  it('reads header names case-insensitively and leaves the event type to the body', () => {
    const payload = '{"type":"invoice.paid","data":{}}';
    const signed = svix.sign({ body: payload, secret, timestamp, id }, source);
    const upper = Object.fromEntries(
      Object.entries(signed).map(([name, value]) => [name.toUpperCase(), value]),
    );
    expect(svix.verify(request(upper, payload), source)).toEqual({ eventId: id, eventTypeField: 'type' });
  });

  it('ignores webhook-* headers', () => {
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': vector };
    expect(() => svix.verify(request(headers), source)).toThrow(failsWith('missing_signature'));
  });

  it('refuses a tampered body', () => {
    expect(() => svix.verify(request(headersFor(vector), '{"test": 2432232315}'), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a wrong secret', () => {
    expect(() => svix.verify(request(headersFor(vector)), { ...source, secrets: [otherSecret] })).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts any configured secret (rotation)', () => {
    const rotated = { ...source, secrets: [otherSecret, secret] };
    expect(() => svix.verify(request(headersFor(vector)), rotated)).not.toThrow();
  });

  it('accepts any of several signatures when one is bad', () => {
    const other = signatureWith(otherSecret, `${id}.${timestamp}.${body}`);
    expect(() => svix.verify(request(headersFor(`${other} ${vector}`)), source)).not.toThrow();
  });

  it('verifies v1a with a whpk_ key', () => {
    const pair = generateStandardWebhooksKeyPair();
    const headers = svix.sign({ body, secret: pair.secretKey, timestamp, id }, source);
    expect(headers['svix-signature']).toMatch(/^v1a,/);
    expect(svix.verify(request(headers), { ...source, secrets: [pair.publicKey] })).toEqual({
      eventId: id,
      eventTypeField: 'type',
    });
  });

  it('refuses a stale timestamp', () => {
    expect(() => svix.verify(request(headersFor(vector), body, now + 301_000), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => svix.verify(request(headersFor(vector), body, now - 301_000), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it.each(['svix-id', 'svix-timestamp', 'svix-signature'])('reports a missing %s', (name) => {
    const headers = headersFor(vector);
    delete headers[name];
    expect(() => svix.verify(request(headers), source)).toThrow(failsWith('missing_signature'));
  });

  it.each([
    ['bad base64', 'v1,not*base64'],
    ['no version', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['an empty signature', 'v1,'],
    ['a huge value', `${vector} `.repeat(200)],
  ])('refuses a signature header with %s as invalid_signature', (_case, value) => {
    expect(() => svix.verify(request(headersFor(value)), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a malformed timestamp as invalid_signature', () => {
    expect(() =>
      svix.verify(request(headersFor(vector, { 'svix-timestamp': '1614265330.5' })), source),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('round-trips sign and verify', () => {
    const payload = '{"type":"user.created","data":{"id":1}}';
    const key = `whsec_${Buffer.from('a fresh svix signing key').toString('base64')}`;
    const headers = svix.sign({ body: payload, secret: key, timestamp, id: 'msg_1' }, source);
    expect(svix.verify(request(headers, payload), { ...source, secrets: [key] })).toEqual({
      eventId: 'msg_1',
      eventTypeField: 'type',
    });
  });
});
