import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryRequest } from './delivery-request.js';
import { PayloadError, SignatureError } from './errors.js';
import { createMemoryNonceStore } from './memory-nonce-store.js';
import type { Provider } from './provider.js';
import { github } from './providers/github.js';
import { getProvider, isProviderName, providerNames, providers } from './registry.js';

const NOW = 1_700_000_000_000;
const partnerKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** What each provider needs besides a secret to sign and verify a test delivery. */
const fixtures: Record<string, { options?: Record<string, unknown>; secret?: string; body?: string }> = {
  hmac: { options: { header: 'X-Partner-Signature', timestampHeader: 'X-Partner-Timestamp' } },
  'standard-webhooks': { secret: `whsec_${Buffer.from('registry test key').toString('base64')}` },
  svix: { secret: `whsec_${Buffer.from('registry test key').toString('base64')}` },
  twilio: { options: { url: 'https://hooks.example.com/webhooks/twilio' } },
  square: { options: { url: 'https://hooks.example.com/webhooks/square' } },
  jwt: {
    options: {
      issuer: 'https://issuer.example/',
      audience: 'https://hooks.example/webhooks/partner',
      publicKeys: [partnerKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
      bodyHashClaim: 'body_sha256',
    },
    secret: partnerKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  },
  linear: { body: JSON.stringify({ type: 'Issue', action: 'create', webhookTimestamp: NOW }) },
};

/** Whether each scheme's own event id is signed ('none': it has no delivery id of its own). */
const EVENT_ID_SIGNED: Record<string, boolean | 'none'> = {
  github: false,
  shopify: false,
  twilio: false,
  linear: false,
  stripe: true,
  'standard-webhooks': true,
  svix: true,
  twitch: true,
  slack: true,
  paddle: true,
  square: true,
  jwt: true,
  zoom: 'none',
  hmac: 'none',
};

function setUp(provider: Provider) {
  const fixture = fixtures[provider.name] ?? {};
  const secret = fixture.secret ?? 'a-registry-test-secret';
  const source = {
    secrets: [secret],
    toleranceSeconds: 300,
    ...provider.optionsSchema.parse(fixture.options ?? {}),
  };
  const body = fixture.body ?? '{"id":"evt_1","type":"thing.happened","event_id":"Ev1"}';
  const context = { sourceName: provider.name, nonces: createMemoryNonceStore() };
  return { secret, source, body, context };
}

/** Runs verify and reports how it ended, whether it threw synchronously or rejected. */
async function outcome(run: () => unknown): Promise<'passed' | 'refused' | Error> {
  try {
    await run();
    return 'passed';
  } catch (error) {
    if (error instanceof SignatureError || error instanceof PayloadError) return 'refused';
    return error instanceof Error ? error : new Error(String(error));
  }
}

describe('registry', () => {
  it('lists every provider of the contract under its config name', () => {
    expect([...providerNames].sort()).toEqual(
      [
        'github',
        'hmac',
        'jwt',
        'linear',
        'paddle',
        'shopify',
        'slack',
        'square',
        'standard-webhooks',
        'stripe',
        'svix',
        'twilio',
        'twitch',
        'zoom',
      ].sort(),
    );
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
});

describe.each(providerNames)('%s', (name) => {
  const provider: Provider = providers[name];
  const { secret, source, body, context } = setUp(provider);
  let headers: Record<string, string> = {};
  beforeAll(async () => {
    headers = await provider.sign({ body, secret, timestamp: NOW / 1000, id: 'delivery-1' }, source);
  });

  it('round-trips sign and verify', async () => {
    const verified = await provider.verify(
      createDeliveryRequest({ body, headers, now: NOW }),
      source,
      context,
    );
    expect(verified).toBeTypeOf('object');
    expect(verified.handshake).toBeUndefined();
  });

  // The attack: the same body and signature sent again under another delivery id. Where that still
  // verifies with a different id, the provider must not call its id signed.
  it('says truly whether its event id is covered by the signature', async () => {
    const request = createDeliveryRequest({ body, headers, now: NOW });
    const verified = await provider.verify(request, source, context);
    const renamed: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers)) {
      renamed[key] = value === 'delivery-1' ? 'delivery-2' : value;
    }
    let replayedId: string | undefined;
    const replayed = await outcome(async () => {
      const again = await provider.verify(
        createDeliveryRequest({ body, headers: renamed, now: NOW }),
        source,
        {
          ...context,
          nonces: createMemoryNonceStore(),
        },
      );
      replayedId = again.eventId;
    });
    expect(verified.eventId === undefined ? 'none' : provider.signsEventId).toBe(EVENT_ID_SIGNED[name]);
    if (replayed === 'passed' && replayedId !== verified.eventId) expect(provider.signsEventId).toBe(false);
    // Every scheme here signs the body's exact bytes (jwt through its bodyHashClaim, Twilio a JSON body).
    const content = provider.signedContent(request, source);
    expect(content?.bodyExact).toBe(true);
    expect(content?.parts.at(-1)).toBe(request.rawBody);
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
    const request = createDeliveryRequest({ body, headers: { ...headers, ...tampered }, now: NOW });
    await expect((async () => provider.verify(request, source, context))()).rejects.toBeInstanceOf(
      SignatureError,
    );
  });

  // Property: whatever a sender puts in the scheme's headers and body, verify never throws anything
  // but its own errors, and never accepts what was not signed with the secret.
  it('refuses random headers and bodies with its own errors only', async () => {
    const names = [...new Set([...Object.keys(headers), ...provider.credentialHeaders])];
    const headerValue = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.stringMatching(/^[tv0-9a-z=,;. ]{0,120}$/),
      fc.base64String({ maxLength: 120 }),
      fc.constantFrom(...Object.values(headers)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...names), headerValue),
        fc.oneof(fc.string({ maxLength: 300 }), fc.json(), fc.constant(body)),
        async (randomHeaders, randomBody) => {
          const request = createDeliveryRequest({ body: randomBody, headers: randomHeaders, now: NOW });
          const result = await outcome(() => provider.verify(request, source, context));
          if (result instanceof Error) throw new Error(`verify threw ${result.stack}`);
          // Genuine header values may be drawn, so only the signed body itself may pass.
          if (result === 'passed' && randomBody !== body) throw new Error('verify accepted a forgery');
        },
      ),
      { numRuns: 300 },
    );
  });
});
