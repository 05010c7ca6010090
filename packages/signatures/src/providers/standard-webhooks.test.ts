import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import {
  generateStandardWebhooksKeyPair,
  standardWebhooks,
  standardWebhooksKey,
} from './standard-webhooks.js';

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
      eventTypeField: 'type',
    });
  });

  it('leaves the event type in the body, to be read where the body is parsed for storage', () => {
    const payload = '{"type":"invoice.paid","data":{}}';
    const headers = standardWebhooks.sign({ body: payload, secret, timestamp, id }, source);
    expect(standardWebhooks.verify(request(headers, payload), source)).toEqual({
      eventId: id,
      eventTypeField: 'type',
    });
  });

  it('accepts a body that is not JSON', () => {
    const payload = 'plain text';
    const headers = standardWebhooks.sign({ body: payload, secret, timestamp, id }, source);
    expect(standardWebhooks.verify(request(headers, payload), source)).toEqual({
      eventId: id,
      eventTypeField: 'type',
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

  it('refuses a header with only v1a signatures when only whsec_ secrets are configured', () => {
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
      eventTypeField: 'type',
    });
  });
});

describe('standard-webhooks v1a (ed25519)', () => {
  // The official Go library's vector: the seed is base64 of "TESTSIGNINGKEYDONOTUSETHISFORANY".
  const signingKey = 'whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=';
  // Its public key (the seed's Ed25519 point), as a whpk_ receivers configure.
  const publicKey = 'whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=';
  const v1aVector =
    'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==';
  const asymmetric = { secrets: [publicKey], toleranceSeconds: 300 };

  it('signs the official v1a vector with a whsk_ seed', () => {
    expect(standardWebhooks.sign({ body, secret: signingKey, timestamp, id }, source)).toEqual({
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': v1aVector,
    });
  });

  it('verifies the official v1a vector with the matching whpk_', () => {
    expect(standardWebhooks.verify(request(headersFor(v1aVector)), asymmetric)).toEqual({
      eventId: id,
      eventTypeField: 'type',
    });
  });

  it('accepts a 64-byte whsk_ (seed then public key) and refuses one whose halves disagree', () => {
    const seed = Buffer.from(signingKey.slice('whsk_'.length), 'base64');
    const point = Buffer.from(publicKey.slice('whpk_'.length), 'base64');
    const long = `whsk_${Buffer.concat([seed, point]).toString('base64')}`;
    expect(standardWebhooks.sign({ body, secret: long, timestamp, id }, source)['webhook-signature']).toBe(
      v1aVector,
    );
    const mismatched = `whsk_${Buffer.concat([seed, Buffer.alloc(32, 7)]).toString('base64')}`;
    expect(() => standardWebhooks.sign({ body, secret: mismatched, timestamp, id }, source)).toThrow(
      TypeError,
    );
  });

  it('round-trips a generated key pair', () => {
    const pair = generateStandardWebhooksKeyPair();
    expect(pair.secretKey).toMatch(/^whsk_[A-Za-z0-9+/]{43}=$/);
    expect(pair.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const payload = '{"type":"user.created"}';
    const headers = standardWebhooks.sign({ body: payload, secret: pair.secretKey, timestamp, id }, source);
    expect(headers['webhook-signature']).toMatch(/^v1a,/);
    expect(
      standardWebhooks.verify(request(headers, payload), { ...source, secrets: [pair.publicKey] }),
    ).toEqual({
      eventId: id,
      eventTypeField: 'type',
    });
  });

  it('refuses a tampered body', () => {
    expect(() => standardWebhooks.verify(request(headersFor(v1aVector), '{"test": 1}'), asymmetric)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses the whpk_ of another key', () => {
    const other = { ...source, secrets: [generateStandardWebhooksKeyPair().publicKey] };
    expect(() => standardWebhooks.verify(request(headersFor(v1aVector)), other)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts any configured whpk_ (rotation)', () => {
    const rotated = { ...source, secrets: [generateStandardWebhooksKeyPair().publicKey, publicKey] };
    expect(() => standardWebhooks.verify(request(headersFor(v1aVector)), rotated)).not.toThrow();
  });

  it('accepts any of several v1a signatures', () => {
    const other = generateStandardWebhooksKeyPair();
    const foreign = standardWebhooks.sign({ body, secret: other.secretKey, timestamp, id }, source);
    const header = `${foreign['webhook-signature']} ${v1aVector}`;
    expect(() => standardWebhooks.verify(request(headersFor(header)), asymmetric)).not.toThrow();
  });

  it('verifies a mixed v1 and v1a header with either kind of secret', () => {
    const mixed = headersFor(`${vector} ${v1aVector}`);
    expect(() => standardWebhooks.verify(request(mixed), source)).not.toThrow();
    expect(() => standardWebhooks.verify(request(mixed), asymmetric)).not.toThrow();
    expect(() =>
      standardWebhooks.verify(request(mixed), { ...source, secrets: [publicKey, secret] }),
    ).not.toThrow();
  });

  it('never lets a whpk_ verify a v1 entry, nor a whsec_ a v1a entry', () => {
    expect(() => standardWebhooks.verify(request(headersFor(vector)), asymmetric)).toThrow(
      failsWith('invalid_signature'),
    );
    expect(() => standardWebhooks.verify(request(headersFor(v1aVector)), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('also verifies v1a with a configured whsk_ (its public half)', () => {
    expect(() =>
      standardWebhooks.verify(request(headersFor(v1aVector)), { ...source, secrets: [signingKey] }),
    ).not.toThrow();
  });

  it.each([
    ['not base64', 'whpk_not*base64'],
    ['too short', `whpk_${Buffer.alloc(16).toString('base64')}`],
    ['too long', `whpk_${Buffer.alloc(64).toString('base64')}`],
  ])('never matches with a whpk_ that is %s', (_case, key) => {
    expect(() =>
      standardWebhooks.verify(request(headersFor(v1aVector)), { ...source, secrets: [key] }),
    ).toThrow(failsWith('invalid_signature'));
  });

  it.each([
    ['bad base64', 'v1a,not*base64'],
    ['an empty signature', 'v1a,'],
    ['a short signature', `v1a,${Buffer.alloc(32).toString('base64')}`],
    ['a truncated signature', v1aVector.slice(0, 40)],
    ['a huge value', `${v1aVector} `.repeat(100)],
  ])('refuses a v1a header with %s as invalid_signature', (_case, value) => {
    expect(() => standardWebhooks.verify(request(headersFor(value)), asymmetric)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('checks the signature before the clock', () => {
    expect(() =>
      standardWebhooks.verify(request(headersFor(v1aVector), body, now + 301_000), asymmetric),
    ).toThrow(failsWith('timestamp_out_of_tolerance'));
    expect(() =>
      standardWebhooks.verify(request(headersFor(v1aVector), body, now - 301_000), asymmetric),
    ).toThrow(failsWith('timestamp_out_of_tolerance'));
  });

  it.each([
    ['a whpk_ public key', publicKey],
    ['a whsk_ that is not base64', 'whsk_not*base64'],
    ['a whsk_ of the wrong length', `whsk_${Buffer.alloc(16).toString('base64')}`],
  ])('refuses to sign with %s', (_case, key) => {
    expect(() => standardWebhooks.sign({ body, secret: key, timestamp, id }, source)).toThrow(TypeError);
  });
});
