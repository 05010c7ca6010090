import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { twilio } from './twilio.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

// The example from Twilio's "Webhooks security" documentation.
const token = '12345';
const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const params = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+12349013030',
  Digits: '1234',
  From: '+12349013030',
  To: '+18005551212',
};
const vector = '0/KCTR6DLpKmkAf8muzZqo1nDgQ=';
// Twilio encodes `+` as %2B, as URLSearchParams does.
const formBody = new URLSearchParams(params).toString();
const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

const source = { secrets: [token], toleranceSeconds: 300, ...twilio.optionsSchema.parse({ url }) };

function base64Hmac(key: string, content: string): string {
  return createHmac('sha1', key).update(content).digest('base64');
}

function request(headers: Record<string, string>, body = formBody, contentType = FORM) {
  return createDeliveryRequest({ body, headers: { 'Content-Type': contentType, ...headers } });
}

function signedForm(
  signedUrl: string,
  key = token,
  signedParams = 'CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212',
) {
  return { 'X-Twilio-Signature': base64Hmac(key, signedUrl + signedParams) };
}

describe('twilio options', () => {
  it('requires an absolute http(s) url', () => {
    expect(twilio.optionsSchema.parse({ url })).toEqual({ url });
    expect(twilio.optionsSchema.safeParse({ url: 'http://localhost:8080/hook' }).success).toBe(true);
  });

  it.each([
    ['no url', {}],
    ['an empty url', { url: '' }],
    ['a relative url', { url: '/webhooks/twilio' }],
    ['another scheme', { url: 'ftp://mycompany.com/myapp.php' }],
    ['not a url', { url: 'my company' }],
  ])('refuses %s', (_case, options) => {
    expect(twilio.optionsSchema.safeParse(options).success).toBe(false);
  });
});

describe('twilio', () => {
  it('verifies the documentation example', () => {
    expect(twilio.verify(request({ 'X-Twilio-Signature': vector }), source)).toEqual({
      eventId: undefined,
      eventType: undefined,
    });
  });

  it('signs the documentation example', () => {
    expect(twilio.sign({ body: formBody, secret: token, timestamp: 0, id: 'idem-1' }, source)).toEqual({
      'X-Twilio-Signature': vector,
      'I-Twilio-Idempotency-Token': 'idem-1',
      'Content-Type': FORM,
    });
  });

  it('sorts the parameters by name, whatever their order in the body', () => {
    const shuffled =
      'To=%2B18005551212&Digits=1234&Caller=%2B12349013030&From=%2B12349013030&CallSid=CA1234567890ABCDE';
    expect(() => twilio.verify(request({ 'X-Twilio-Signature': vector }, shuffled), source)).not.toThrow();
  });

  it('signs the distinct values of a repeated parameter in sorted order, as the helper libraries do', () => {
    const body = 'MediaUrl=b&Body=hi&MediaUrl=a&MediaUrl=b';
    const headers = { 'X-Twilio-Signature': base64Hmac(token, `${url}BodyhiMediaUrlaMediaUrlb`) };
    expect(() => twilio.verify(request(headers, body), source)).not.toThrow();
    const inBodyOrder = {
      'X-Twilio-Signature': base64Hmac(token, `${url}BodyhiMediaUrlbMediaUrlaMediaUrlb`),
    };
    expect(() => twilio.verify(request(inBodyOrder, body), source)).toThrow(failsWith('invalid_signature'));
  });

  it('reads the idempotency token and a status callback status', () => {
    const body = new URLSearchParams({ MessageSid: 'SM1', MessageStatus: 'delivered' }).toString();
    const headers = {
      'X-Twilio-Signature': base64Hmac(token, `${url}MessageSidSM1MessageStatusdelivered`),
      'I-Twilio-Idempotency-Token': 'e5a1d7c3-idem',
    };
    expect(twilio.verify(request(headers, body), source)).toEqual({
      eventId: 'e5a1d7c3-idem',
      eventType: 'delivered',
    });
  });

  it('reads header names in any case', () => {
    const headers = { 'x-twilio-signature': vector, 'i-twilio-idempotency-token': 'idem-2' };
    expect(twilio.verify(request(headers), source)).toMatchObject({ eventId: 'idem-2' });
  });

  it('round-trips sign and verify for a form body', () => {
    const body = 'CallSid=CA1&CallStatus=completed';
    const headers = twilio.sign({ body, secret: token, timestamp: 0, id: 'idem-3' }, source);
    expect(twilio.verify(createDeliveryRequest({ body, headers }), source)).toEqual({
      eventId: 'idem-3',
      eventType: 'completed',
    });
  });

  describe('the standard port', () => {
    it('accepts a signature made over the URL with :443 when the url has none', () => {
      const headers = signedForm('https://mycompany.com:443/myapp.php?foo=1&bar=2');
      expect(() => twilio.verify(request(headers), source)).not.toThrow();
    });

    it('accepts a signature made over the URL without :443 when the url has it', () => {
      const withPort = { ...source, url: 'https://mycompany.com:443/myapp.php?foo=1&bar=2' };
      expect(() => twilio.verify(request({ 'X-Twilio-Signature': vector }), withPort)).not.toThrow();
    });

    it('uses :80 for http', () => {
      const plain = { ...source, url: 'http://mycompany.com/myapp.php?foo=1&bar=2' };
      const headers = signedForm('http://mycompany.com:80/myapp.php?foo=1&bar=2');
      expect(() => twilio.verify(request(headers), plain)).not.toThrow();
    });

    it('does not accept another port', () => {
      const headers = signedForm('https://mycompany.com:8443/myapp.php?foo=1&bar=2');
      expect(() => twilio.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
    });
  });

  it.each([
    ['the host the Host header claims', 'https://attacker.example/myapp.php?foo=1&bar=2'],
    ['another path', 'https://mycompany.com/other.php?foo=1&bar=2'],
    ['another query', 'https://mycompany.com/myapp.php?foo=1&bar=3'],
    ['no query', 'https://mycompany.com/myapp.php'],
    ['http instead of https', 'http://mycompany.com/myapp.php?foo=1&bar=2'],
  ])('refuses a signature made for %s', (_case, otherUrl) => {
    expect(() => twilio.verify(request(signedForm(otherUrl)), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  describe('JSON bodies', () => {
    const jsonBody = '{"CallSid":"CA1234567890ABCDE","Caller":"+12349013030"}';
    // The URL of Twilio's JSON example: the configured URL plus bodySHA256 of the body above.
    const docsJsonUrl =
      'https://example.com/myapp?bodySHA256=5ccde7145dfb8f56479710896586cb9d5911809d83afbe34627818790db0aec9';
    const jsonSource = { ...source, url: 'https://example.com/myapp' };

    it('verifies a signature over the URL with bodySHA256 of the raw body', () => {
      const headers = { 'X-Twilio-Signature': base64Hmac(token, docsJsonUrl) };
      expect(() => twilio.verify(request(headers, jsonBody, JSON_TYPE), jsonSource)).not.toThrow();
      expect(() =>
        twilio.verify(request(headers, jsonBody, 'application/json; charset=utf-8'), jsonSource),
      ).not.toThrow();
    });

    it('appends bodySHA256 to an existing query string', () => {
      const hash = createHash('sha256').update(jsonBody).digest('hex');
      const headers = { 'X-Twilio-Signature': base64Hmac(token, `${url}&bodySHA256=${hash}`) };
      expect(() => twilio.verify(request(headers, jsonBody, JSON_TYPE), source)).not.toThrow();
    });

    it('tries the standard port there too', () => {
      const withPort = docsJsonUrl.replace('example.com', 'example.com:443');
      const headers = { 'X-Twilio-Signature': base64Hmac(token, withPort) };
      expect(() => twilio.verify(request(headers, jsonBody, JSON_TYPE), jsonSource)).not.toThrow();
    });

    it('refuses a tampered JSON body', () => {
      const headers = { 'X-Twilio-Signature': base64Hmac(token, docsJsonUrl) };
      const tampered = jsonBody.replace('+1234', '+9999');
      expect(() => twilio.verify(request(headers, tampered, JSON_TYPE), jsonSource)).toThrow(
        failsWith('invalid_signature'),
      );
    });

    it('round-trips sign and verify, sending JSON as application/json', () => {
      const headers = twilio.sign({ body: jsonBody, secret: token, timestamp: 0, id: 'idem-4' }, jsonSource);
      expect(headers['X-Twilio-Signature']).toBe(base64Hmac(token, docsJsonUrl));
      expect(headers['Content-Type']).toBe(JSON_TYPE);
      expect(twilio.verify(createDeliveryRequest({ body: jsonBody, headers }), jsonSource)).toEqual({
        eventId: 'idem-4',
        eventType: undefined,
      });
    });
  });

  it('refuses a tampered parameter', () => {
    const tampered = formBody.replace('Digits=1234', 'Digits=1235');
    expect(() => twilio.verify(request({ 'X-Twilio-Signature': vector }, tampered), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses an added parameter', () => {
    expect(() =>
      twilio.verify(request({ 'X-Twilio-Signature': vector }, `${formBody}&Extra=1`), source),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong auth token', () => {
    expect(() => twilio.verify(request(signedForm(url, '54321')), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts the old and the new auth token while both are configured (rotation)', () => {
    const rotated = { ...source, secrets: ['new-token', token] };
    expect(() => twilio.verify(request({ 'X-Twilio-Signature': vector }), rotated)).not.toThrow();
    expect(() => twilio.verify(request(signedForm(url, 'new-token')), rotated)).not.toThrow();
  });

  it('reports a missing header', () => {
    expect(() => twilio.verify(request({}), source)).toThrow(failsWith('missing_signature'));
    expect(() => twilio.verify(request({ 'X-Twilio-Signature': ' ' }), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  it.each([
    ['non-base64 characters', `${vector.slice(0, -2)}!!`],
    ['a hex digest', createHmac('sha1', token).update(url).digest('hex')],
    ['a prefix', `sha1=${vector}`],
    ['a truncated digest', vector.slice(0, 12)],
    ['a huge value', 'A'.repeat(9000)],
  ])('refuses %s as invalid_signature', (_case, value) => {
    expect(() => twilio.verify(request({ 'X-Twilio-Signature': value }), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('lists its credential header', () => {
    expect(twilio.credentialHeaders).toEqual(['x-twilio-signature']);
  });
});
