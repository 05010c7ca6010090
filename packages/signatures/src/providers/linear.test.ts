import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { linear } from './linear.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });
const payloadError = expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' });

const secret = 'lin_wh_0123456789abcdef';
const now = 1_700_000_000_000;
const source = { secrets: [secret], toleranceSeconds: 60 };

function bodyAt(timestampMs: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    action: 'create',
    type: 'Issue',
    data: { id: 'a1b2', title: 'Bug' },
    organizationId: 'org-1',
    webhookTimestamp: timestampMs,
    webhookId: 'wh-1',
    ...extra,
  });
}

const body = bodyAt(now - 1_500);

function hexHmac(key: string, content: string): string {
  return createHmac('sha256', key).update(content).digest('hex');
}

function request(headers: Record<string, string>, requestBody = body, at = now) {
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

function signed(requestBody = body, key = secret, extra: Record<string, string> = {}) {
  return request({ 'Linear-Signature': hexHmac(key, requestBody), ...extra }, requestBody);
}

describe('linear', () => {
  it('signs the body as hex HMAC-SHA256 with a delivery id and event', () => {
    expect(linear.sign({ body, secret, timestamp: 0, id: 'del-1' }, source)).toEqual({
      'Linear-Signature': hexHmac(secret, body),
      'Linear-Delivery': 'del-1',
      'Linear-Event': 'Issue',
    });
  });

  it('verifies and reads the delivery id and event from the headers', () => {
    const headers = { 'Linear-Delivery': '234d1a4e-b617-4388-90fe-adc3633d6b72', 'Linear-Event': 'Issue' };
    expect(linear.verify(signed(body, secret, headers), source)).toEqual({
      eventId: '234d1a4e-b617-4388-90fe-adc3633d6b72',
      eventType: 'Issue',
    });
  });

  it('falls back to the body type and action for the event type', () => {
    expect(linear.verify(signed(), source)).toEqual({ eventId: undefined, eventType: 'Issue.create' });
    const noAction = bodyAt(now, { action: undefined, type: 'Comment' });
    expect(linear.verify(signed(noAction), source)).toEqual({ eventId: undefined, eventType: 'Comment' });
  });

  it('reads header names in any case', () => {
    const headers = { 'linear-signature': hexHmac(secret, body), 'LINEAR-DELIVERY': 'del-2' };
    expect(linear.verify(request(headers), source)).toMatchObject({ eventId: 'del-2' });
  });

  it('accepts upper-case hex', () => {
    const headers = { 'Linear-Signature': hexHmac(secret, body).toUpperCase() };
    expect(() => linear.verify(request(headers), source)).not.toThrow();
  });

  it('round-trips sign and verify', () => {
    const headers = linear.sign({ body, secret, timestamp: 0, id: 'del-3' }, source);
    expect(linear.verify(request(headers), source)).toEqual({ eventId: 'del-3', eventType: 'Issue' });
  });

  it('verifies the raw bytes, not a re-serialised body', () => {
    const spaced = `{ "type" : "Project",\n  "webhookTimestamp": ${now} }`;
    expect(linear.verify(signed(spaced), source)).toEqual({ eventId: undefined, eventType: 'Project' });
  });

  it('refuses a tampered body', () => {
    const headers = { 'Linear-Signature': hexHmac(secret, body) };
    expect(() => linear.verify(request(headers, body.replace('Bug', 'Feature')), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a wrong secret', () => {
    expect(() => linear.verify(signed(body, 'not the secret'), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts the old and the new secret while both are configured (rotation)', () => {
    const rotated = { ...source, secrets: ['lin_wh_new', secret] };
    expect(() => linear.verify(signed(body, secret), rotated)).not.toThrow();
    expect(() => linear.verify(signed(body, 'lin_wh_new'), rotated)).not.toThrow();
  });

  it('refuses a stale webhookTimestamp', () => {
    expect(() => linear.verify(signed(bodyAt(now - 61_000)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a webhookTimestamp in the future', () => {
    expect(() => linear.verify(signed(bodyAt(now + 61_000)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('reads webhookTimestamp as milliseconds', () => {
    // The same instant in seconds would be more than 50 years ago.
    expect(() => linear.verify(signed(bodyAt(now / 1000)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it("uses the source's tolerance", () => {
    const old = signed(bodyAt(now - 120_000));
    expect(() => linear.verify(old, source)).toThrow(failsWith('timestamp_out_of_tolerance'));
    expect(() => linear.verify(old, { ...source, toleranceSeconds: 300 })).not.toThrow();
  });

  it('checks the signature before the clock, so a forged stale body is a signature failure', () => {
    expect(() => linear.verify(signed(bodyAt(now - 10_000_000), 'forger'), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it.each([
    ['no webhookTimestamp', bodyAt(undefined)],
    ['a string webhookTimestamp', bodyAt(String(now))],
    ['a fractional webhookTimestamp', bodyAt(now + 0.5)],
    ['a negative webhookTimestamp', bodyAt(-1)],
    ['a body that is not JSON', 'not json'],
    ['a JSON array', `[${now}]`],
  ])('refuses a correctly signed body with %s as invalid_payload', (_case, payload) => {
    expect(() => linear.verify(signed(payload), source)).toThrow(payloadError);
  });

  it('checks the signature before the body, so a forged non-JSON body is a signature failure', () => {
    const headers = { 'Linear-Signature': hexHmac(secret, body) };
    expect(() => linear.verify(request(headers, 'not json'), source)).toThrow(failsWith('invalid_signature'));
  });

  it('reports a missing header', () => {
    expect(() => linear.verify(request({}), source)).toThrow(failsWith('missing_signature'));
    expect(() => linear.verify(request({ 'Linear-Signature': '' }), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  const good = hexHmac(secret, body);
  it.each([
    ['a prefix', `sha256=${good}`],
    ['odd-length hex', good.slice(1)],
    ['non-hex characters', `${good.slice(2)}zz`],
    ['a base64 digest', createHmac('sha256', secret).update(body).digest('base64')],
    ['a short digest', 'abcd'],
    ['a huge value', 'a'.repeat(9000)],
  ])('refuses %s as invalid_signature', (_case, value) => {
    expect(() => linear.verify(request({ 'Linear-Signature': value }), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('lists its credential header', () => {
    expect(linear.credentialHeaders).toEqual(['linear-signature']);
  });
});
