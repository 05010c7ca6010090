import { beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryRequest } from './delivery-request.js';
import { SignatureError } from './errors.js';
import { createMemoryNonceStore } from './memory-nonce-store.js';
import { github } from './providers/github.js';
import { getProvider, isProviderName, providerNames, providers } from './registry.js';

const providerOptions: Record<string, Record<string, unknown>> = {
  hmac: { header: 'X-Partner-Signature', timestampHeader: 'X-Partner-Timestamp' },
};

const secrets: Record<string, string> = {
  'standard-webhooks': `whsec_${Buffer.from('registry test key').toString('base64')}`,
};

describe('registry', () => {
  it('lists every provider under its config name', () => {
    expect(providerNames).toEqual(['github', 'stripe', 'standard-webhooks', 'hmac']);
    for (const name of providerNames) expect(providers[name].name).toBe(name);
  });

  it('finds providers by name and nothing else', () => {
    expect(getProvider('github')).toBe(github);
    expect(getProvider('nope')).toBeUndefined();
    expect(getProvider('toString')).toBeUndefined();
    expect(getProvider('__proto__')).toBeUndefined();
    expect(isProviderName('stripe')).toBe(true);
    expect(isProviderName('constructor')).toBe(false);
  });

  describe.each(providerNames)('%s', (name) => {
    const provider = getProvider(name);
    if (provider === undefined) throw new Error(`no provider ${name}`);
    const secret = secrets[name] ?? 'a-registry-test-secret';
    const source = {
      secrets: [secret],
      toleranceSeconds: 300,
      ...provider.optionsSchema.parse(providerOptions[name] ?? {}),
    };
    const body = '{"id":"evt_1","type":"thing.happened"}';
    const now = 1_700_000_000_000;
    const context = { sourceName: name, nonces: createMemoryNonceStore() };
    let headers: Record<string, string> = {};
    beforeAll(async () => {
      headers = await provider.sign({ body, secret, timestamp: now / 1000, id: 'delivery-1' }, source);
    });

    it('round-trips sign and verify', async () => {
      const verified = await provider.verify(createDeliveryRequest({ body, headers, now }), source, context);
      expect(verified).toBeTypeOf('object');
    });

    it('lists lowercase credential headers', () => {
      for (const header of provider.credentialHeaders) expect(header).toBe(header.toLowerCase());
    });

    const garbage = [
      '',
      ' ',
      ',',
      '=',
      'v1,',
      't=',
      'sha256=',
      '\u0000',
      'é',
      'x'.repeat(9000),
      '=,=,= v1,= v1a,=',
    ];
    it.each(garbage)('answers garbage headers %j with a SignatureError only', async (value) => {
      const tampered: Record<string, string> = {};
      for (const key of Object.keys(headers)) tampered[key] = value;
      const request = createDeliveryRequest({ body, headers: { ...headers, ...tampered }, now });
      await expect((async () => provider.verify(request, source, context))()).rejects.toBeInstanceOf(SignatureError);
    });
  });
});
