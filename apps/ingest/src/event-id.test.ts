import { createHash } from 'node:crypto';
import type { Idempotency } from '@inlet/config';
import {
  createDeliveryRequest,
  createMemoryNonceStore,
  github,
  type Provider,
  providers,
  standardWebhooks,
  stripe,
  twilio,
} from '@inlet/signatures';
import { describe, expect, it } from 'vitest';
import { contentKeyFor, deriveEventId } from './event-id.js';
import { rawValueAt } from './json-pointer.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('event ids read with a JSON pointer', () => {
  const byPointer = (body: string, jsonPointer = '/id') =>
    deriveEventId(createDeliveryRequest({ body }), undefined, { jsonPointer });

  it('keeps every digit of a number past 2^53, so distinct ids never merge', () => {
    const ids = ['1234567890123456789', '1234567890123456790', '1234567890123456791'].map((id) =>
      byPointer(`{"id": ${id}, "n": 1}`),
    );
    expect(ids).toEqual(['1234567890123456789', '1234567890123456790', '1234567890123456791']);
  });

  it('takes a number as its text as sent, fractions and exponents included', () => {
    expect(byPointer('{"id":42}')).toBe('42');
    expect(byPointer('{"id":-0}')).toBe('-0');
    expect(byPointer('{"id":0.1000000000000000000001}')).toBe('0.1000000000000000000001');
    expect(byPointer('{"id":1e400}')).toBe('1e400');
    expect(
      byPointer('{ "data" : [ {"x":[1,{"id":2}]} , { "id" :\n 98765432109876543210 } ] }', '/data/1/id'),
    ).toBe('98765432109876543210');
  });

  it('still reads strings as before', () => {
    expect(byPointer('{"id":"evt_1"}')).toBe('evt_1');
  });
});

describe('rawValueAt', () => {
  it('follows the pointer as JSON.parse would, last duplicate key winning', () => {
    const text = '{"a":1,"a":{"b~c/d":[10, 20 ,30]},"s":"x\\"}y"}';
    expect(rawValueAt(text, '/a/b~0c~1d/2')).toBe('30');
    expect(rawValueAt(text, '/s')).toBe('"x\\"}y"');
    expect(rawValueAt(text, '/a/missing')).toBeUndefined();
    expect(rawValueAt(text, '/a/b~0c~1d/3')).toBeUndefined();
    expect(rawValueAt(text, '/a/b~0c~1d/01')).toBeUndefined();
    expect(rawValueAt('{"k":{}}', '/k/x')).toBeUndefined();
    expect(rawValueAt('[]', '/0')).toBeUndefined();
  });
});

/** The content key ingest would put on the job of a signed delivery. */
async function keyOf(
  provider: Provider,
  settings: Record<string, unknown>,
  body: string,
  headers: Record<string, string>,
  idempotency?: Idempotency,
): Promise<string | undefined> {
  const source = { secrets: ['s3cret'], toleranceSeconds: 300, ...settings };
  const request = createDeliveryRequest({ body, headers });
  const verified = await provider.verify(request, source, {
    sourceName: 'test',
    nonces: createMemoryNonceStore(),
  });
  expect(verified.handshake).toBeUndefined();
  return contentKeyFor(provider, source, request, idempotency);
}

async function signedHeaders(
  provider: Provider,
  settings: Record<string, unknown>,
  body: string,
  id: string,
) {
  const source = { secrets: ['s3cret'], toleranceSeconds: 300, ...settings };
  return provider.sign({ body, secret: 's3cret', timestamp: Math.floor(Date.now() / 1000), id }, source);
}

describe('contentKeyFor', () => {
  const body = '{"id":"evt_1","type":"x"}';

  it('keys a delivery whose id is not signed on its signed body, whatever the id', async () => {
    const first = await signedHeaders(github, {}, body, 'delivery-1');
    const replayed = { ...first, 'X-GitHub-Delivery': 'delivery-2' };
    const { 'X-GitHub-Delivery': _dropped, ...withoutId } = first;
    const key = await keyOf(github, {}, body, first);
    expect(key).toBe(sha256(body));
    expect(await keyOf(github, {}, body, replayed)).toBe(key);
    expect(await keyOf(github, {}, body, withoutId)).toBe(key);
    expect(
      await keyOf(github, {}, '{"id":"evt_2"}', await signedHeaders(github, {}, '{"id":"evt_2"}', 'd')),
    ).not.toBe(key);
  });

  it('needs none where the id is signed, or read from the signed body', async () => {
    expect(await keyOf(stripe, {}, body, await signedHeaders(stripe, {}, body, 'x'))).toBeUndefined();
    const sw = { secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] };
    const swHeaders = await standardWebhooks.sign(
      {
        body,
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        timestamp: Math.floor(Date.now() / 1000),
        id: 'm1',
      },
      { ...sw, toleranceSeconds: 300 },
    );
    expect(await keyOf(standardWebhooks, sw, body, swHeaders)).toBeUndefined();
    // An id read from a body GitHub signs is bound by the signature.
    expect(
      await keyOf(github, {}, body, await signedHeaders(github, {}, body, 'd'), { jsonPointer: '/id' }),
    ).toBeUndefined();
    // No delivery id in the scheme at all: the id is the body's own hash.
    const hmacSettings = providers.hmac.optionsSchema.parse({ header: 'X-Sig' });
    expect(
      await keyOf(
        providers.hmac,
        hmacSettings,
        body,
        await signedHeaders(providers.hmac, hmacSettings, body, 'd'),
      ),
    ).toBeUndefined();
  });

  it('keys a source whose id comes from an idempotency header, even on a scheme that signs its own id', async () => {
    const stripeHeaders = await signedHeaders(stripe, {}, body, 'x');
    const key = await keyOf(stripe, {}, body, { ...stripeHeaders, 'X-Order': '1' }, { header: 'X-Order' });
    const timestamp = /t=(\d+)/.exec(stripeHeaders['Stripe-Signature'] ?? '')?.[1] ?? '';
    expect(key).toBe(sha256(`${timestamp}.${body}`));
  });

  it('keys a Twilio form body on its signed parameters, so reordering them changes nothing', async () => {
    const settings = { url: 'https://hooks.example.com/twilio' };
    const form = 'CallSid=CA1&From=%2B1555&To=%2B1666';
    const headers = await signedHeaders(twilio, settings, form, 'token-1');
    const key = await keyOf(twilio, settings, form, headers);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const reordered = 'To=%2B1666&CallSid=CA1&From=%2b1555';
    const replayed = { ...headers, 'I-Twilio-Idempotency-Token': 'token-2' };
    expect(await keyOf(twilio, settings, reordered, replayed)).toBe(key);
    // Its body hash is not what Twilio signed either: the fallback id is keyed too.
    const { 'I-Twilio-Idempotency-Token': _dropped, ...withoutId } = headers;
    expect(await keyOf(twilio, settings, reordered, withoutId)).toBe(key);
  });
});
