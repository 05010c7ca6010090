import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { hmac } from './hmac.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });

const secret = 'partner-shared-secret';
const body = '{"order":42,"status":"shipped"}';
const timestamp = 1_700_000_000;
const now = timestamp * 1000;

function sourceWith(options: Record<string, unknown>, secrets: readonly string[] = [secret]) {
  return { secrets, toleranceSeconds: 300, ...hmac.optionsSchema.parse(options) };
}

function request(headers: Record<string, string>, requestBody = body, at = now) {
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

const algorithms = ['sha1', 'sha256', 'sha512'] as const;
const encodings = ['hex', 'base64'] as const;
const prefixes = [undefined, 'sha256='] as const;

describe('hmac options', () => {
  it('defaults to hex SHA-256 without a prefix or timestamp', () => {
    expect(hmac.optionsSchema.parse({ header: 'X-Signature' })).toEqual({
      header: 'X-Signature',
      algorithm: 'sha256',
      encoding: 'hex',
    });
  });

  it.each([
    ['no header', {}],
    ['an empty header', { header: '' }],
    ['a header name with a space', { header: 'X Signature' }],
    ['an unknown algorithm', { header: 'x-sig', algorithm: 'md5' }],
    ['an unknown encoding', { header: 'x-sig', encoding: 'base32' }],
    ['an empty prefix', { header: 'x-sig', prefix: '' }],
    ['an invalid timestamp header', { header: 'x-sig', timestampHeader: 'x:ts' }],
  ])('refuses %s', (_case, options) => {
    expect(hmac.optionsSchema.safeParse(options).success).toBe(false);
  });
});

describe('hmac', () => {
  for (const algorithm of algorithms) {
    for (const encoding of encodings) {
      for (const prefix of prefixes) {
        const label = `${algorithm} ${encoding}${prefix ? ` with prefix ${prefix}` : ''}`;
        const options = prefix
          ? { header: 'X-Signature', algorithm, encoding, prefix }
          : { header: 'X-Signature', algorithm, encoding };

        it(`verifies an independently computed ${label} signature`, () => {
          const digest = createHmac(algorithm, secret).update(body).digest(encoding);
          const headers = { 'x-signature': `${prefix ?? ''}${digest}` };
          expect(hmac.verify(request(headers), sourceWith(options))).toEqual({});
        });

        it(`round-trips ${label}`, () => {
          const source = sourceWith(options);
          const headers = hmac.sign({ body, secret, timestamp, id: 'unused' }, source);
          expect(Object.keys(headers)).toEqual(['X-Signature']);
          expect(hmac.verify(request(headers), source)).toEqual({});
        });

        it(`refuses a tampered body with ${label}`, () => {
          const source = sourceWith(options);
          const headers = hmac.sign({ body, secret, timestamp, id: 'unused' }, source);
          expect(() => hmac.verify(request(headers, `${body} `), source)).toThrow(
            failsWith('invalid_signature'),
          );
        });
      }
    }
  }

  const source = sourceWith({ header: 'X-Signature', prefix: 'sha256=' });
  const signed = hmac.sign({ body, secret, timestamp, id: 'unused' }, source);
  const value = signed['X-Signature'] ?? '';

  it('refuses a wrong secret', () => {
    expect(() =>
      hmac.verify(request(signed), sourceWith({ header: 'X-Signature', prefix: 'sha256=' }, ['nope'])),
    ).toThrow(failsWith('invalid_signature'));
  });

  it('accepts any configured secret (rotation)', () => {
    const rotated = sourceWith({ header: 'X-Signature', prefix: 'sha256=' }, ['the-next-secret', secret]);
    expect(() => hmac.verify(request(signed), rotated)).not.toThrow();
  });

  it('reads the configured header case-insensitively', () => {
    expect(() => hmac.verify(request({ 'X-SIGNATURE': value }), source)).not.toThrow();
  });

  it('reports a missing header', () => {
    expect(() => hmac.verify(request({}), source)).toThrow(failsWith('missing_signature'));
  });

  it.each([
    ['a missing prefix', value.slice('sha256='.length)],
    ['another prefix', `sha1=${value.slice('sha256='.length)}`],
    ['odd-length hex', value.slice(0, -1)],
    ['non-hex characters', `${value.slice(0, -2)}zz`],
    ['only the prefix', 'sha256='],
    ['a huge value', `sha256=${'ab'.repeat(5000)}`],
  ])('refuses %s as invalid_signature', (_case, header) => {
    expect(() => hmac.verify(request({ 'X-Signature': header }), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses bad base64 as invalid_signature', () => {
    const base64 = sourceWith({ header: 'X-Signature', encoding: 'base64' });
    expect(() => hmac.verify(request({ 'X-Signature': 'not*base64' }), base64)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('leaves the event id and type to the source settings', () => {
    expect(hmac.verify(request(signed), source)).toEqual({});
  });

  it('has no fixed credential headers: the configured header is the credential', () => {
    expect(hmac.credentialHeaders).toEqual([]);
  });
});

describe('hmac with timestampHeader', () => {
  const options = {
    header: 'X-Signature',
    timestampHeader: 'X-Timestamp',
    algorithm: 'sha512',
    encoding: 'base64',
  };
  const source = sourceWith(options);
  const sign = (t = timestamp, payload = body) =>
    hmac.sign({ body: payload, secret, timestamp: t, id: 'unused' }, source);

  it('signs {timestamp}.{body} and sends the timestamp header', () => {
    const headers = sign();
    expect(headers['X-Timestamp']).toBe(String(timestamp));
    expect(headers['X-Signature']).toBe(
      createHmac('sha512', secret).update(`${timestamp}.${body}`).digest('base64'),
    );
  });

  it('round-trips', () => {
    expect(hmac.verify(request(sign()), source)).toEqual({});
  });

  it('refuses a tampered timestamp', () => {
    const headers = { ...sign(), 'X-Timestamp': String(timestamp + 1) };
    expect(() => hmac.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a tampered body', () => {
    expect(() => hmac.verify(request(sign(), `${body}x`), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a stale timestamp', () => {
    expect(() => hmac.verify(request(sign(timestamp - 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => hmac.verify(request(sign(timestamp + 301)), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('reports a missing timestamp header', () => {
    const { 'X-Timestamp': _omitted, ...headers } = sign();
    expect(() => hmac.verify(request(headers), source)).toThrow(failsWith('missing_signature'));
  });

  it('refuses a malformed timestamp as invalid_signature', () => {
    const headers = { ...sign(), 'X-Timestamp': '1700000000.5' };
    expect(() => hmac.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });

  it('does not accept a body-only signature', () => {
    const headers = {
      'X-Timestamp': String(timestamp),
      'X-Signature': createHmac('sha512', secret).update(body).digest('base64'),
    };
    expect(() => hmac.verify(request(headers), source)).toThrow(failsWith('invalid_signature'));
  });
});
