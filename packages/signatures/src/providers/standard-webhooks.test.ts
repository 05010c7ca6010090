import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { standardWebhooks, standardWebhooksKey } from './standard-webhooks.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

// The official vector from the Standard Webhooks specification.
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const body = '{"test": 2432232314}';
const vector = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const now = timestamp * 1000;
const source = { secrets: [secret], toleranceSeconds: 300 };

function headersFor(signature: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
    ...overrides,
  };
}

function request(headers: Record<string, string>, requestBody = body, at = now) {
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

function signatureWith(key: string, content: string): string {
  const raw = standardWebhooksKey(key);
  if (raw === undefined) throw new Error('bad test key');
  return `v1,${createHmac('sha256', raw).update(content).digest('base64')}`;
}

describe('standard-webhooks', () => {
  it('signs the official test vector', () => {
    const headers = standardWebhooks.sign({ body, secret, timestamp, id }, source);
    expect(headers).toEqual({
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': vector,
    });
  });

  it('verifies the official test vector and takes webhook-id as the event id', () => {
    expect(standardWebhooks.verify(request(headersFor(vector)), source)).toEqual({
      eventId: id,
      eventType: undefined,
    });
  });

  it('reads the event type from a JSON body', () => {
    const payload = '{"type":"invoice.paid","data":{}}';
    const headers = standardWebhooks.sign({ body: payload, secret, timestamp, id }, source);
    expect(standardWebhooks.verify(request(headers, payload), source)).toEqual({
      eventId: id,
      eventType: 'invoice.paid',
    });
  });

  it('accepts a body that is not JSON', () => {
    const payload = 'plain text';
    const headers = standardWebhooks.sign({ body: payload, secret, timestamp, id }, source);
    expect(standardWebhooks.verify(request(headers, payload), source)).toEqual({
      eventId: id,
      eventType: undefined,
    });
  });

  it('accepts a secret without the whsec_ prefix', () => {
    const bare = { ...source, secrets: [secret.slice('whsec_'.length)] };
    expect(() => standardWebhooks.verify(request(headersFor(vector)), bare)).not.toThrow();
  });

  it('refuses a tampered body', () => {
    expect(() =>
      standardWebhooks.verify(request(headersFor(vector), '{"test": 2432232315}'), source),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a tampered id or timestamp', () => {
    expect(() =>
      standardWebhooks.verify(request(headersFor(vector, { 'webhook-id': 'msg_other' })), source),
    ).toThrow(failsWith('invalid_signature'));
    expect(() =>
      standardWebhooks.verify(
        request(headersFor(vector, { 'webhook-timestamp': String(timestamp + 1) })),
        source,
      ),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong secret', () => {
    const wrong = { ...source, secrets: ['whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA=='] };
    expect(() => standardWebhooks.verify(request(headersFor(vector)), wrong)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('never matches with a secret that is not base64', () => {
    const broken = { ...source, secrets: ['whsec_not base64!'] };
    expect(() => standardWebhooks.verify(request(headersFor(vector)), broken)).toThrow(
      failsWith('invalid_signature'),
    );
    expect(() => standardWebhooks.sign({ body, secret: 'whsec_not base64!', timestamp, id }, source)).toThrow(
      TypeError,
    );
  });

  it('accepts any configured secret (rotation)', () => {
    const rotated = { ...source, secrets: ['whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==', secret] };
    expect(() => standardWebhooks.verify(request(headersFor(vector)), rotated)).not.toThrow();
  });

  it('accepts any of several signatures (rotation on the sender side)', () => {
    const other = signatureWith('whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==', `${id}.${timestamp}.${body}`);
    expect(() => standardWebhooks.verify(request(headersFor(`${other} ${vector}`)), source)).not.toThrow();
  });

  it('ignores v1a and unknown versions beside a valid v1', () => {
    const header = `v1a,${Buffer.alloc(64).toString('base64')} v2,whatever ${vector}`;
    expect(() => standardWebhooks.verify(request(headersFor(header)), source)).not.toThrow();
  });

  it('skips a malformed v1 entry beside a valid one', () => {
    expect(() => standardWebhooks.verify(request(headersFor(`v1,!!! ${vector}`)), source)).not.toThrow();
  });

  it('refuses a header with only v1a signatures for now', () => {
    const header = `v1a,${Buffer.alloc(64).toString('base64')}`;
    expect(() => standardWebhooks.verify(request(headersFor(header)), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a stale timestamp', () => {
    expect(() => standardWebhooks.verify(request(headersFor(vector), body, now + 301_000), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => standardWebhooks.verify(request(headersFor(vector), body, now - 301_000), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it("uses the source's tolerance", () => {
    const late = request(headersFor(vector), body, now + 60_000);
    expect(() => standardWebhooks.verify(late, { ...source, toleranceSeconds: 30 })).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
    expect(() => standardWebhooks.verify(late, source)).not.toThrow();
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('reports a missing %s', (name) => {
    const headers = headersFor(vector);
    delete headers[name];
    expect(() => standardWebhooks.verify(request(headers), source)).toThrow(failsWith('missing_signature'));
  });

  it.each([
    ['bad base64', 'v1,not*base64'],
    ['no version', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['an empty signature', 'v1,'],
    ['a truncated signature', vector.slice(0, 20)],
    ['a huge value', `${vector} `.repeat(200)],
  ])('refuses a signature header with %s as invalid_signature', (_case, value) => {
    expect(() => standardWebhooks.verify(request(headersFor(value)), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it.each(['abc', '-1', '1614265330.0', '0x60380', '16142653301614265330'])(
    'refuses the timestamp %j as invalid_signature',
    (value) => {
      expect(() =>
        standardWebhooks.verify(request(headersFor(vector, { 'webhook-timestamp': value })), source),
      ).toThrow(failsWith('invalid_signature'));
    },
  );

  it('reports a blank timestamp as missing', () => {
    expect(() =>
      standardWebhooks.verify(request(headersFor(vector, { 'webhook-timestamp': ' ' })), source),
    ).toThrow(failsWith('missing_signature'));
  });

  it('round-trips sign and verify', () => {
    const payload = '{"type":"user.created","data":{"id":1}}';
    const key = `whsec_${Buffer.from('a fresh signing key').toString('base64')}`;
    const headers = standardWebhooks.sign({ body: payload, secret: key, timestamp, id: 'msg_1' }, source);
    expect(standardWebhooks.verify(request(headers, payload), { ...source, secrets: [key] })).toEqual({
      eventId: 'msg_1',
      eventType: 'user.created',
    });
  });
});
