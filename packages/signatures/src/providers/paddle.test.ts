import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { paddle } from './paddle.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });
const payloadError = expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' });

const secret = 'pdl_ntfset_01h8x9_secret';
const timestamp = 1_700_000_000;
const now = timestamp * 1000;
const body =
  '{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.completed","occurred_at":"2023-11-14T22:13:20Z","data":{}}';
const source = { secrets: [secret], toleranceSeconds: 300 };

function hexHmac(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('hex');
}

function request(signature: string | undefined, requestBody = body, at = now) {
  const headers = signature === undefined ? {} : { 'Paddle-Signature': signature };
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

function signed(requestBody = body, key = secret, t = timestamp): string {
  const headers = paddle.sign({ body: requestBody, secret: key, timestamp: t, id: 'unused' }, source);
  const value = headers['Paddle-Signature'];
  if (value === undefined) throw new Error('sign() returned no Paddle-Signature');
  return value;
}

describe('paddle', () => {
  // The vectors of Paddle's Node SDK tests (secret VALID_SECRET, timestamp 2023-11-01T00:00:00Z).
  describe('official vectors', () => {
    const vectorSource = { secrets: ['VALID_SECRET'], toleranceSeconds: 5 };
    const at = 1698796800 * 1000;

    it('verifies a single h1', () => {
      const header = 'ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9';
      expect(paddle.verify(request(header, '{"data": ["1", "2"]}', at + 5000), vectorSource)).toEqual({
        eventId: undefined,
        eventType: undefined,
      });
      expect(() => paddle.verify(request(header, '{"data": ["1", "2"]}', at + 6000), vectorSource)).toThrow(
        failsWith('timestamp_out_of_tolerance'),
      );
      expect(() => paddle.verify(request(header, '{ "data": [ "1", "2" ]}', at), vectorSource)).toThrow(
        failsWith('invalid_signature'),
      );
    });

    it('verifies repeated h1 values beside an unknown h2', () => {
      const h1 = '28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261';
      const header = `ts=1698796800;h1=${h1};h1=${h1};h2=RANDOM_HASH`;
      expect(() => paddle.verify(request(header, '{"data": "value"}', at), vectorSource)).not.toThrow();
    });
  });

  it('signs ts:body', () => {
    expect(signed()).toBe(`ts=${timestamp};h1=${hexHmac(secret, `${timestamp}:${body}`)}`);
  });

  it('verifies and reads event_id and event_type from the body', () => {
    expect(paddle.verify(request(signed()), source)).toEqual({
      eventId: 'evt_01h8bzakzx3hm2fmen703n5q45',
      eventType: 'transaction.completed',
    });
  });

  it('reads the header name case-insensitively', () => {
    const lower = createDeliveryRequest({ body, headers: { 'paddle-signature': signed() }, now });
    expect(() => paddle.verify(lower, source)).not.toThrow();
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('completed', 'canceled');
    expect(() => paddle.verify(request(signed(), tampered), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a tampered timestamp', () => {
    const value = signed().replace(`ts=${timestamp}`, `ts=${timestamp + 1}`);
    expect(() => paddle.verify(request(value), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong secret', () => {
    expect(() => paddle.verify(request(signed(body, 'pdl_ntfset_other')), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts any configured secret (rotation)', () => {
    const rotated = { ...source, secrets: ['pdl_ntfset_old', secret] };
    expect(() => paddle.verify(request(signed()), rotated)).not.toThrow();
  });

  it('accepts any of several h1 signatures when one is bad (rotation on the sender side)', () => {
    const good = hexHmac(secret, `${timestamp}:${body}`);
    const other = hexHmac('pdl_ntfset_other', `${timestamp}:${body}`);
    expect(() => paddle.verify(request(`ts=${timestamp};h1=${other};h1=${good}`), source)).not.toThrow();
  });

  it('ignores unknown keys and surrounding spaces', () => {
    const good = hexHmac(secret, `${timestamp}:${body}`);
    expect(() => paddle.verify(request(`ts=${timestamp}; h2=whatever; h1=${good}`), source)).not.toThrow();
  });

  it('never accepts the right HMAC under another key', () => {
    const good = hexHmac(secret, `${timestamp}:${body}`);
    expect(() => paddle.verify(request(`ts=${timestamp};h2=${good}`), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a stale timestamp', () => {
    expect(() => paddle.verify(request(signed(body, secret, timestamp - 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => paddle.verify(request(signed(body, secret, timestamp + 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it("uses the source's tolerance", () => {
    const old = request(signed(body, secret, timestamp - 60));
    expect(() => paddle.verify(old, { ...source, toleranceSeconds: 30 })).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
    expect(() => paddle.verify(old, { ...source, toleranceSeconds: 600 })).not.toThrow();
  });

  it('reports a missing header', () => {
    expect(() => paddle.verify(request(undefined), source)).toThrow(failsWith('missing_signature'));
    expect(() => paddle.verify(request(''), source)).toThrow(failsWith('missing_signature'));
  });

  const good = hexHmac(secret, `${timestamp}:${body}`);
  it.each([
    ['no ts', `h1=${good}`],
    ['two ts', `ts=${timestamp};ts=${timestamp};h1=${good}`],
    ['an empty ts', `ts=;h1=${good}`],
    ['a non-numeric ts', `ts=abc;h1=${good}`],
    ['a millisecond ts', `ts=${timestamp}000;h1=${good}`],
    ['no h1', `ts=${timestamp}`],
    ['odd-length hex', `ts=${timestamp};h1=${good.slice(1)}`],
    ['non-hex characters', `ts=${timestamp};h1=${good.slice(2)}zz`],
    ['an empty h1', `ts=${timestamp};h1=`],
    ['an item without =', `ts=${timestamp};h1`],
    ['an empty item', `ts=${timestamp};;h1=${good}`],
    ['Stripe-style commas', `ts=${timestamp},h1=${good}`],
    ['garbage', 'not a signature header at all'],
    ['a huge value', `ts=${timestamp};${`h1=${good};`.repeat(200)}h1=${good}`],
  ])('refuses a header with %s as invalid_signature', (_case, value) => {
    expect(() => paddle.verify(request(value), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a correctly signed body that is not JSON with invalid_payload', () => {
    expect(() => paddle.verify(request(signed('not json'), 'not json'), source)).toThrow(payloadError);
    expect(() => paddle.verify(request(signed('[1]'), '[1]'), source)).toThrow(payloadError);
  });

  it('checks the signature before the body, so a forged non-JSON body is a signature failure', () => {
    expect(() => paddle.verify(request(signed(), 'not json'), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('round-trips sign and verify over the raw bytes', () => {
    const spaced = '{ "event_id" : "evt_9",\n  "event_type": "subscription.created" }';
    expect(paddle.verify(request(signed(spaced), spaced), source)).toEqual({
      eventId: 'evt_9',
      eventType: 'subscription.created',
    });
  });

  it('lists its credential header', () => {
    expect(paddle.credentialHeaders).toEqual(['paddle-signature']);
  });
});
