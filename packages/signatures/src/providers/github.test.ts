import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { github } from './github.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

const secret = "It's a Secret to Everybody";
const body = 'Hello, World!';
const vector = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
const source = { secrets: [secret], toleranceSeconds: 300 };

function request(headers: Record<string, string>, requestBody = body) {
  return createDeliveryRequest({ body: requestBody, headers });
}

describe('github', () => {
  it('signs the official test vector', () => {
    const headers = github.sign({ body, secret, timestamp: 0, id: 'delivery-1' }, source);
    expect(headers['X-Hub-Signature-256']).toBe(vector);
    expect(headers['X-GitHub-Delivery']).toBe('delivery-1');
    expect(headers['X-GitHub-Event']).toBe('inlet.test');
  });

  it('verifies the official test vector and reads the delivery id and event', () => {
    const verified = github.verify(
      request({ 'X-Hub-Signature-256': vector, 'X-GitHub-Delivery': 'abc-123', 'X-GitHub-Event': 'push' }),
      source,
    );
    expect(verified).toEqual({ eventId: 'abc-123', eventType: 'push' });
  });

  it('leaves the event id to the fallback when the delivery header is absent', () => {
    expect(github.verify(request({ 'X-Hub-Signature-256': vector }), source)).toEqual({
      eventId: undefined,
      eventType: undefined,
    });
  });

  it('accepts upper-case hex', () => {
    expect(() =>
      github.verify(request({ 'X-Hub-Signature-256': `sha256=${vector.slice(7).toUpperCase()}` }), source),
    ).not.toThrow();
  });

  it('refuses a tampered body', () => {
    expect(() => github.verify(request({ 'X-Hub-Signature-256': vector }, 'Hello, World?'), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a wrong secret', () => {
    expect(() =>
      github.verify(request({ 'X-Hub-Signature-256': vector }), { ...source, secrets: ['not it'] }),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('accepts any configured secret (rotation)', () => {
    const rotated = { ...source, secrets: ['the new secret', secret] };
    expect(() => github.verify(request({ 'X-Hub-Signature-256': vector }), rotated)).not.toThrow();
  });

  it('reports a missing header, even when the legacy SHA-1 header is present', () => {
    expect(() => github.verify(request({}), source)).toThrow(failsWith('missing_signature'));
    expect(() => github.verify(request({ 'X-Hub-Signature': 'sha1=00' }), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  it.each([
    ['no prefix', vector.slice(7)],
    ['another algorithm', `sha1=${vector.slice(7)}`],
    ['odd-length hex', vector.slice(0, -1)],
    ['non-hex characters', `${vector.slice(0, -2)}zz`],
    ['an empty digest', 'sha256='],
    ['a short digest', 'sha256=abcd'],
    ['a huge value', `sha256=${'a'.repeat(10_000)}`],
  ])('refuses %s as invalid_signature', (_case, value) => {
    expect(() => github.verify(request({ 'X-Hub-Signature-256': value }), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('round-trips sign and verify', () => {
    const payload = '{"zen":"Keep it logically awesome."}';
    const headers = github.sign({ body: payload, secret: 's3cret', timestamp: 0, id: 'd-1' }, source);
    const verified = github.verify(request(headers, payload), { ...source, secrets: ['s3cret'] });
    expect(verified).toEqual({ eventId: 'd-1', eventType: 'inlet.test' });
  });

  it('lists its credential headers', () => {
    expect(github.credentialHeaders).toEqual(['x-hub-signature-256', 'x-hub-signature']);
  });
});
