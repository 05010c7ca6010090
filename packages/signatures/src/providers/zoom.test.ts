import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { zoom } from './zoom.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });
const payloadError = expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' });

const secret = 'zoom_secret_token_0123456789';
const timestamp = 1_689_061_099;
const now = timestamp * 1000;
const body =
  '{"event":"meeting.started","event_ts":1689061099652,"payload":{"account_id":"abc","object":{"id":"123"}}}';
const validation =
  '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1689061099652,"event":"endpoint.url_validation"}';
const source = { secrets: [secret], toleranceSeconds: 300 };

function hexHmac(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('hex');
}

function signedHeaders(requestBody = body, key = secret, t = timestamp): Record<string, string> {
  return zoom.sign({ body: requestBody, secret: key, timestamp: t, id: 'unused' }, source);
}

function request(headers: Record<string, string>, requestBody = body, at = now) {
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

function headersWith(signature: string, t = String(timestamp)): Record<string, string> {
  return { 'x-zm-signature': signature, 'x-zm-request-timestamp': t };
}

describe('zoom', () => {
  it('signs v0:timestamp:body', () => {
    expect(signedHeaders()).toEqual({
      'x-zm-request-timestamp': String(timestamp),
      'x-zm-signature': `v0=${hexHmac(secret, `v0:${timestamp}:${body}`)}`,
    });
  });

  it('verifies, reads the event type and leaves the event id to the fallback', () => {
    expect(zoom.verify(request(signedHeaders()), source)).toEqual({
      eventId: undefined,
      eventType: 'meeting.started',
    });
  });

  it('reads header names case-insensitively', () => {
    const headers = signedHeaders();
    const upper = {
      'X-Zm-Signature': headers['x-zm-signature'] ?? '',
      'X-ZM-REQUEST-TIMESTAMP': headers['x-zm-request-timestamp'] ?? '',
    };
    expect(() => zoom.verify(request(upper), source)).not.toThrow();
  });

  it('answers a signed endpoint.url_validation with the plain and encrypted token', () => {
    const verified = zoom.verify(request(signedHeaders(validation), validation), source);
    expect(verified).toEqual({
      eventId: undefined,
      eventType: 'endpoint.url_validation',
      handshake: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
          encryptedToken: hexHmac(secret, 'qgg8vlvZRS6UYooatFL8Aw'),
        }),
      },
    });
  });

  it('keys the encrypted token with the secret that verified (rotation)', () => {
    const rotated = { ...source, secrets: ['zoom_old_secret', secret] };
    const verified = zoom.verify(request(signedHeaders(validation), validation), rotated);
    expect(JSON.parse(verified.handshake?.body ?? 'null')).toEqual({
      plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
      encryptedToken: hexHmac(secret, 'qgg8vlvZRS6UYooatFL8Aw'),
    });
  });

  it('never answers a forged endpoint.url_validation', () => {
    expect(() =>
      zoom.verify(request(signedHeaders(validation, 'not the secret'), validation), source),
    ).toThrow(failsWith('invalid_signature'));
    expect(() => zoom.verify(request({}, validation), source)).toThrow(failsWith('missing_signature'));
  });

  it('refuses a signed endpoint.url_validation without a plain token', () => {
    const empty = '{"event":"endpoint.url_validation","payload":{}}';
    expect(() => zoom.verify(request(signedHeaders(empty), empty), source)).toThrow(payloadError);
    const numeric = '{"event":"endpoint.url_validation","payload":{"plainToken":42}}';
    expect(() => zoom.verify(request(signedHeaders(numeric), numeric), source)).toThrow(payloadError);
  });

  it('refuses a correctly signed body that is not a JSON object', () => {
    expect(() => zoom.verify(request(signedHeaders('not json'), 'not json'), source)).toThrow(payloadError);
  });

  it('refuses a tampered body', () => {
    const tampered = body.replace('started', 'ended');
    expect(() => zoom.verify(request(signedHeaders(), tampered), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a tampered timestamp', () => {
    const headers = { ...signedHeaders(), 'x-zm-request-timestamp': String(timestamp + 1) };
    expect(() => zoom.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong secret', () => {
    expect(() => zoom.verify(request(signedHeaders(body, 'another secret')), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts any configured secret (rotation)', () => {
    expect(() =>
      zoom.verify(request(signedHeaders()), { ...source, secrets: ['zoom_old_secret', secret] }),
    ).not.toThrow();
  });

  it('refuses a stale timestamp', () => {
    expect(() => zoom.verify(request(signedHeaders(body, secret, timestamp - 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => zoom.verify(request(signedHeaders(body, secret, timestamp + 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it("uses the source's tolerance", () => {
    const old = request(signedHeaders(body, secret, timestamp - 60));
    expect(() => zoom.verify(old, { ...source, toleranceSeconds: 30 })).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
    expect(() => zoom.verify(old, source)).not.toThrow();
  });

  it.each(['x-zm-signature', 'x-zm-request-timestamp'])('reports a missing %s', (name) => {
    const headers = signedHeaders();
    delete headers[name];
    expect(() => zoom.verify(request(headers), source)).toThrow(failsWith('missing_signature'));
  });

  const good = hexHmac(secret, `v0:${timestamp}:${body}`);
  it.each([
    ['no prefix', good],
    ['another version', `v1=${good}`],
    ['odd-length hex', `v0=${good.slice(1)}`],
    ['non-hex characters', `v0=${good.slice(2)}zz`],
    ['an empty digest', 'v0='],
    ['a short digest', 'v0=abcd'],
    ['a huge value', `v0=${'a'.repeat(9000)}`],
  ])('refuses a signature with %s as invalid_signature', (_case, value) => {
    expect(() => zoom.verify(request(headersWith(value)), source)).toThrow(failsWith('invalid_signature'));
  });

  it.each(['abc', '-1', '1689061099.5', '1689061099652', ' 0x64ad9beb'])(
    'refuses the timestamp %j as invalid_signature',
    (value) => {
      const signature = `v0=${hexHmac(secret, `v0:${value.trim()}:${body}`)}`;
      expect(() => zoom.verify(request(headersWith(signature, value)), source)).toThrow(
        failsWith('invalid_signature'),
      );
    },
  );

  it('round-trips sign and verify over the raw bytes', () => {
    const spaced = '{ "event" : "recording.completed",\n "payload": {} }';
    expect(zoom.verify(request(signedHeaders(spaced), spaced), source)).toEqual({
      eventId: undefined,
      eventType: 'recording.completed',
    });
  });

  it('lists its credential header', () => {
    expect(zoom.credentialHeaders).toEqual(['x-zm-signature']);
  });
});
