import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { parseRfc3339Seconds, twitch } from './twitch.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });
const payloadError = expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' });

const secret = 'twitch-eventsub-secret-0123456789';
const messageId = 'e76c6bd4-55c9-4987-8304-da1588d8988b';
// The form Twitch sends: UTC with nanoseconds.
const timestamp = '2023-07-19T14:56:51.634234626Z';
const seconds = 1_689_778_611;
const now = seconds * 1000;
const body =
  '{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"enabled"},"event":{"user_id":"1337","user_login":"awesome_user"}}';
const challenge = 'pogchamp-kappa-360noscope-vohiyo';
const verification = `{"challenge":"${challenge}","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","type":"channel.follow","version":"2","status":"webhook_callback_verification_pending"}}`;
const source = { secrets: [secret], toleranceSeconds: 600 };

function signature(key = secret, id = messageId, t = timestamp, requestBody = body): string {
  return `sha256=${createHmac('sha256', key)
    .update(id + t + requestBody)
    .digest('hex')}`;
}

function headersFor(overrides: Record<string, string | undefined> = {}, requestBody = body) {
  return {
    'Twitch-Eventsub-Message-Id': messageId,
    'Twitch-Eventsub-Message-Timestamp': timestamp,
    'Twitch-Eventsub-Message-Signature': signature(secret, messageId, timestamp, requestBody),
    'Twitch-Eventsub-Message-Type': 'notification',
    'Twitch-Eventsub-Subscription-Type': 'channel.follow',
    ...overrides,
  };
}

function request(headers: Record<string, string | undefined>, requestBody = body, at = now) {
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

describe('parseRfc3339Seconds', () => {
  it.each([
    ['2023-07-19T14:56:51Z', seconds],
    ['2023-07-19T14:56:51.634234626Z', seconds],
    ['2023-07-19t14:56:51.6z', seconds],
    ['2023-07-19T16:56:51+02:00', seconds],
    ['2023-07-19T09:26:51.1-05:30', seconds],
    ['2024-02-29T00:00:00Z', 1_709_164_800],
    ['1970-01-01T00:00:00Z', 0],
  ])('reads %s', (value, expected) => {
    expect(Math.floor(parseRfc3339Seconds(value) ?? Number.NaN)).toBe(expected);
  });

  it.each([
    '',
    '1689778611',
    '2023-07-19',
    '2023-07-19 14:56:51Z',
    '2023-07-19T14:56:51',
    '2023-07-19T14:56:51.Z',
    '2023-07-19T14:56:51.1234567890Z',
    '2023-7-19T14:56:51Z',
    '2023-13-19T14:56:51Z',
    '2023-00-19T14:56:51Z',
    '2023-02-29T14:56:51Z',
    '2023-04-31T14:56:51Z',
    '2023-07-00T14:56:51Z',
    '2023-07-19T24:00:00Z',
    '2023-07-19T14:60:51Z',
    '2023-07-19T14:56:60Z',
    '2023-07-19T14:56:51+24:00',
    '2023-07-19T14:56:51+02:60',
    '2023-07-19T14:56:51+0200',
    ' 2023-07-19T14:56:51Z',
    '２０２３-07-19T14:56:51Z',
  ])('refuses %j', (value) => {
    expect(parseRfc3339Seconds(value)).toBeUndefined();
  });
});

describe('twitch', () => {
  it('verifies a notification: message id as event id, subscription type as event type', () => {
    expect(twitch.verify(request(headersFor()), source)).toEqual({
      eventId: messageId,
      eventType: 'channel.follow',
    });
  });

  it('falls back to the body subscription.type without the subscription type header', () => {
    const headers = headersFor({ 'Twitch-Eventsub-Subscription-Type': undefined });
    expect(twitch.verify(request(headers), source)).toEqual({
      eventId: messageId,
      eventType: 'channel.follow',
    });
  });

  it('reads header names case-insensitively', () => {
    const lower = Object.fromEntries(
      Object.entries(headersFor()).map(([name, value]) => [name.toLowerCase(), value]),
    );
    expect(() => twitch.verify(request(lower), source)).not.toThrow();
  });

  it('treats a revocation as an ordinary, signed event', () => {
    const headers = headersFor({ 'Twitch-Eventsub-Message-Type': 'revocation' });
    expect(twitch.verify(request(headers), source)).toEqual({
      eventId: messageId,
      eventType: 'channel.follow',
    });
  });

  it('answers a signed webhook_callback_verification with its challenge as text', () => {
    const headers = headersFor(
      { 'Twitch-Eventsub-Message-Type': 'webhook_callback_verification' },
      verification,
    );
    expect(twitch.verify(request(headers, verification), source)).toEqual({
      eventId: messageId,
      eventType: 'channel.follow',
      handshake: { status: 200, contentType: 'text/plain', body: challenge },
    });
  });

  it('never answers a forged webhook_callback_verification', () => {
    const forged = headersFor(
      {
        'Twitch-Eventsub-Message-Type': 'webhook_callback_verification',
        'Twitch-Eventsub-Message-Signature': signature('not the secret', messageId, timestamp, verification),
      },
      verification,
    );
    expect(() => twitch.verify(request(forged, verification), source)).toThrow(
      failsWith('invalid_signature'),
    );
    const unsigned = headersFor(
      {
        'Twitch-Eventsub-Message-Type': 'webhook_callback_verification',
        'Twitch-Eventsub-Message-Signature': undefined,
      },
      verification,
    );
    expect(() => twitch.verify(request(unsigned, verification), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  it('refuses a signed verification without a string challenge', () => {
    for (const payload of ['{"subscription":{}}', '{"challenge":42}', 'not json']) {
      const headers = headersFor(
        { 'Twitch-Eventsub-Message-Type': 'webhook_callback_verification' },
        payload,
      );
      expect(() => twitch.verify(request(headers, payload), source)).toThrow(payloadError);
    }
  });

  it('signs all four headers with an RFC 3339 timestamp', () => {
    const headers = twitch.sign({ body, secret, timestamp: seconds, id: messageId }, source);
    expect(headers).toEqual({
      'Twitch-Eventsub-Message-Id': messageId,
      'Twitch-Eventsub-Message-Timestamp': '2023-07-19T14:56:51Z',
      'Twitch-Eventsub-Message-Signature': signature(secret, messageId, '2023-07-19T14:56:51Z'),
      'Twitch-Eventsub-Message-Type': 'notification',
    });
  });

  it('round-trips sign and verify, reading the type from the body', () => {
    const headers = twitch.sign({ body, secret, timestamp: seconds, id: 'msg-1' }, source);
    expect(twitch.verify(request(headers), source)).toEqual({
      eventId: 'msg-1',
      eventType: 'channel.follow',
    });
  });

  it('refuses to sign a timestamp that is not whole seconds', () => {
    expect(() => twitch.sign({ body, secret, timestamp: 1.5, id: 'msg-1' }, source)).toThrow(RangeError);
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('1337', '1338');
    expect(() => twitch.verify(request(headersFor(), tampered), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a tampered message id or timestamp', () => {
    expect(() =>
      twitch.verify(request(headersFor({ 'Twitch-Eventsub-Message-Id': 'other' })), source),
    ).toThrow(failsWith('invalid_signature'));
    const shifted = headersFor({ 'Twitch-Eventsub-Message-Timestamp': '2023-07-19T14:56:51.634234627Z' });
    expect(() => twitch.verify(request(shifted), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong secret', () => {
    expect(() => twitch.verify(request(headersFor()), { ...source, secrets: ['another secret'] })).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts any configured secret (rotation)', () => {
    const rotated = { ...source, secrets: ['the old secret', secret] };
    expect(() => twitch.verify(request(headersFor()), rotated)).not.toThrow();
  });

  it('refuses a stale timestamp', () => {
    expect(() => twitch.verify(request(headersFor(), body, now + 601_000), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => twitch.verify(request(headersFor(), body, now - 601_000), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it("uses the source's tolerance", () => {
    const late = request(headersFor(), body, now + 60_000);
    expect(() => twitch.verify(late, { ...source, toleranceSeconds: 30 })).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
    expect(() => twitch.verify(late, source)).not.toThrow();
  });

  it('checks the signature before the clock', () => {
    const forgedAndLate = headersFor({ 'Twitch-Eventsub-Message-Signature': signature('not the secret') });
    expect(() => twitch.verify(request(forgedAndLate, body, now + 601_000), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it.each([
    'Twitch-Eventsub-Message-Id',
    'Twitch-Eventsub-Message-Timestamp',
    'Twitch-Eventsub-Message-Signature',
  ])('reports a missing %s', (name) => {
    expect(() => twitch.verify(request(headersFor({ [name]: undefined })), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  const good = signature();
  it.each([
    ['no prefix', good.slice('sha256='.length)],
    ['another algorithm', `sha1=${good.slice('sha256='.length)}`],
    ['odd-length hex', good.slice(0, -1)],
    ['non-hex characters', `${good.slice(0, -2)}zz`],
    ['an empty digest', 'sha256='],
    ['a huge value', `sha256=${'a'.repeat(9000)}`],
  ])('refuses a signature with %s as invalid_signature', (_case, value) => {
    const headers = headersFor({ 'Twitch-Eventsub-Message-Signature': value });
    expect(() => twitch.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });

  it.each(['1689778611', '2023-07-19 14:56:51Z', '2023-02-30T14:56:51Z', 'yesterday'])(
    'refuses the timestamp %j as invalid_signature even when signed',
    (value) => {
      const headers = headersFor({
        'Twitch-Eventsub-Message-Timestamp': value,
        'Twitch-Eventsub-Message-Signature': signature(secret, messageId, value),
      });
      expect(() => twitch.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
    },
  );

  it('lists its credential header', () => {
    expect(twitch.credentialHeaders).toEqual(['twitch-eventsub-message-signature']);
  });
});
