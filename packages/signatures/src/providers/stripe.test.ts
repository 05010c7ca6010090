import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { stripe } from './stripe.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

const secret = 'whsec_test_secret_1234567890';
const timestamp = 1_700_000_000;
const now = timestamp * 1000;
const body = '{"id":"evt_123","object":"event","type":"payment_intent.succeeded","data":{"object":{}}}';
const source = { secrets: [secret], toleranceSeconds: 300 };

function hexHmac(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('hex');
}

function request(signature: string | undefined, requestBody = body, at = now) {
  const headers = signature === undefined ? {} : { 'Stripe-Signature': signature };
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

function signed(requestBody = body, key = secret, t = timestamp): string {
  const headers = stripe.sign({ body: requestBody, secret: key, timestamp: t, id: 'unused' }, source);
  const value = headers['Stripe-Signature'];
  if (value === undefined) throw new Error('sign() returned no Stripe-Signature');
  return value;
}

describe('stripe', () => {
  it('signs t.body with the whole whsec_ string as the key', () => {
    expect(signed()).toBe(`t=${timestamp},v1=${hexHmac(secret, `${timestamp}.${body}`)}`);
  });

  it('parses the body only once the signature verifies, and refuses one nested too deep', () => {
    const deep = `{"id":"evt_deep","data":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    expect(() => stripe.verify(request(signed(body), deep), source)).toThrow(failsWith('invalid_signature'));
    expect(() => stripe.verify(request(signed(deep), deep), source)).toThrow(
      expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' }),
    );
  });

  it('verifies and reads the event id and type from the body', () => {
    expect(stripe.verify(request(signed()), source)).toEqual({
      eventId: 'evt_123',
      eventType: 'payment_intent.succeeded',
    });
  });

  it('leaves the event id to the fallback when the body has none', () => {
    const payload = '{"type":"ping"}';
    expect(stripe.verify(request(signed(payload), payload), source)).toEqual({
      eventId: undefined,
      eventType: 'ping',
    });
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('evt_123', 'evt_124');
    expect(() => stripe.verify(request(signed(), tampered), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a tampered timestamp', () => {
    const value = signed().replace(`t=${timestamp}`, `t=${timestamp + 1}`);
    expect(() => stripe.verify(request(value), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong secret', () => {
    expect(() => stripe.verify(request(signed(body, 'whsec_other')), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts any configured secret (rotation)', () => {
    const rotated = { ...source, secrets: ['whsec_old', secret] };
    expect(() => stripe.verify(request(signed()), rotated)).not.toThrow();
  });

  it('accepts any of several v1 signatures (rotation on the sender side)', () => {
    const good = hexHmac(secret, `${timestamp}.${body}`);
    const other = hexHmac('whsec_other', `${timestamp}.${body}`);
    expect(() => stripe.verify(request(`t=${timestamp},v1=${other},v1=${good}`), source)).not.toThrow();
  });

  it('ignores v0 and unknown schemes beside a valid v1', () => {
    const good = hexHmac(secret, `${timestamp}.${body}`);
    const header = `t=${timestamp},v0=${'0'.repeat(64)},v1=${good},v9=whatever`;
    expect(() => stripe.verify(request(header), source)).not.toThrow();
  });

  it('never accepts v0, even when it carries the right HMAC', () => {
    const good = hexHmac(secret, `${timestamp}.${body}`);
    expect(() => stripe.verify(request(`t=${timestamp},v0=${good}`), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a stale timestamp', () => {
    expect(() => stripe.verify(request(signed(body, secret, timestamp - 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => stripe.verify(request(signed(body, secret, timestamp + 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it("uses the source's tolerance", () => {
    const old = request(signed(body, secret, timestamp - 60));
    expect(() => stripe.verify(old, { ...source, toleranceSeconds: 30 })).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
    expect(() => stripe.verify(old, { ...source, toleranceSeconds: 600 })).not.toThrow();
  });

  it('reports a missing header', () => {
    expect(() => stripe.verify(request(undefined), source)).toThrow(failsWith('missing_signature'));
    expect(() => stripe.verify(request(''), source)).toThrow(failsWith('missing_signature'));
  });

  const good = hexHmac(secret, `${timestamp}.${body}`);
  it.each([
    ['no t', `v1=${good}`],
    ['two t', `t=${timestamp},t=${timestamp},v1=${good}`],
    ['an empty t', `t=,v1=${good}`],
    ['a non-numeric t', `t=abc,v1=${good}`],
    ['a fractional t', `t=${timestamp}.5,v1=${good}`],
    ['no v1', `t=${timestamp}`],
    ['odd-length hex', `t=${timestamp},v1=${good.slice(1)}`],
    ['non-hex characters', `t=${timestamp},v1=${good.slice(2)}zz`],
    ['an empty v1', `t=${timestamp},v1=`],
    ['an item without =', `t=${timestamp},v1`],
    ['an empty item', `t=${timestamp},,v1=${good}`],
    ['garbage', 'not a signature header at all'],
    ['a huge value', `t=${timestamp},${`v1=${good},`.repeat(200)}v1=${good}`],
  ])('refuses a header with %s as invalid_signature', (_case, value) => {
    expect(() => stripe.verify(request(value), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a correctly signed body that is not JSON with invalid_payload', () => {
    const payload = 'not json';
    expect(() => stripe.verify(request(signed(payload), payload), source)).toThrow(
      expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' }),
    );
  });

  it('refuses a correctly signed JSON body that is not an object with invalid_payload', () => {
    const payload = '["evt_123"]';
    expect(() => stripe.verify(request(signed(payload), payload), source)).toThrow(
      expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' }),
    );
  });

  it('checks the signature before the body, so a forged non-JSON body is a signature failure', () => {
    expect(() => stripe.verify(request(signed(), 'not json'), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('signs the raw bytes, not a re-serialised body', () => {
    const spaced = '{ "id" : "evt_9",\n  "type": "x" }';
    expect(stripe.verify(request(signed(spaced), spaced), source)).toEqual({
      eventId: 'evt_9',
      eventType: 'x',
    });
  });
});
