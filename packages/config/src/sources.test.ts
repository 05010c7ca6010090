import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { loadSources, parseSources } from './sources.js';

const errorOf = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('parseSources', () => {
  it('resolves env: secrets and applies defaults', () => {
    const sources = parseSources(
      { sources: { gh: { provider: 'github', secrets: ['env:GH_SECRET', 'literal'] } } },
      { env: { GH_SECRET: 'from-env' } },
    );
    const gh = sources.get('gh');
    expect(gh?.provider.name).toBe('github');
    expect(gh?.settings.secrets).toEqual(['from-env', 'literal']);
    expect(gh?.settings.toleranceSeconds).toBe(300);
    expect(gh?.maxBodyBytes).toBe(1_048_576);
  });

  it('deduplicates by content unless a source turns it off, and refuses anything but a boolean', () => {
    const sources = parseSources({
      sources: {
        gh: { provider: 'github', secrets: ['x'] },
        open: { provider: 'github', secrets: ['x'], dedupeByContent: false },
      },
    });
    expect(sources.get('gh')?.dedupeByContent).toBe(true);
    expect(sources.get('open')?.dedupeByContent).toBe(false);
    expect(() =>
      parseSources({ sources: { gh: { provider: 'github', secrets: ['x'], dedupeByContent: 'false' } } }),
    ).toThrow(/sources\.gh\.dedupeByContent: must be true or false/);
  });

  it('keeps provider options for the verifier', () => {
    const sources = parseSources({
      sources: { shop: { provider: 'hmac', secrets: ['s'], header: 'X-Sig', encoding: 'base64' } },
    });
    expect(sources.get('shop')?.settings).toMatchObject({
      header: 'X-Sig',
      encoding: 'base64',
      algorithm: 'sha256',
    });
  });

  const bad: Array<[string, unknown, string]> = [
    [
      'an unset env secret',
      { sources: { a: { provider: 'github', secrets: ['env:NOPE_NOT_SET'] } } },
      'sources.a.secrets[0]: environment variable NOPE_NOT_SET is not set',
    ],
    [
      'no secrets',
      { sources: { a: { provider: 'github', secrets: [] } } },
      'sources.a.secrets: needs at least one secret',
    ],
    [
      'an unknown provider',
      { sources: { a: { provider: 'gitlab', secrets: ['x'] } } },
      'sources.a.provider: must be one of',
    ],
    [
      'a bad source name',
      { sources: { 'Bad Name': { provider: 'github', secrets: ['x'] } } },
      'sources.Bad Name: a source name must match',
    ],
    [
      'an unknown field',
      { sources: { a: { provider: 'github', secrets: ['x'], tolerance: 1 } } },
      'sources.a: unknown field(s) tolerance',
    ],
    [
      'a wrong type',
      { sources: { a: { provider: 'github', secrets: ['x'], toleranceSeconds: 'soon' } } },
      'sources.a.toleranceSeconds',
    ],
    ['a missing hmac header', { sources: { a: { provider: 'hmac', secrets: ['x'] } } }, 'sources.a.header'],
    [
      'a bad idempotency pointer',
      { sources: { a: { provider: 'github', secrets: ['x'], idempotency: { jsonPointer: 'id' } } } },
      'sources.a.idempotency',
    ],
    ['no sources key', {}, 'sources'],
  ];
  it.each(bad)('names the field for %s', (_name, document, expected) => {
    const error = errorOf(() => parseSources(document, { env: {} }));
    expect(error.message).toContain(expected);
  });
});

describe('loadSources', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the file in errors', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{ "sources": ');
    await expect(loadSources(file)).rejects.toThrow(/broken\.json: \(root\): not valid JSON/);
    await expect(loadSources(path.join(dir, 'missing.json'))).rejects.toThrow(/does not exist/);
  });

  it('reads a valid file', async () => {
    const file = path.join(dir, 'ok.json');
    await writeFile(
      file,
      JSON.stringify({ sources: { acme: { provider: 'standard-webhooks', secrets: ['whsec_AAAA'] } } }),
    );
    const sources = await loadSources(file);
    expect([...sources.keys()]).toEqual(['acme']);
  });
});

describe('key-based and URL-signed sources', () => {
  const partner = {
    provider: 'jwt',
    issuer: 'https://issuer.example/',
    audience: 'https://hooks.example/webhooks/partner',
  };

  it('accepts a jwt source without secrets', () => {
    const sources = parseSources({
      sources: { partner: { ...partner, jwksUrl: 'https://issuer.example/jwks.json' } },
    });
    expect(sources.get('partner')?.settings.secrets).toEqual([]);
  });

  it('keeps the provider refinements: a jwt source needs exactly one of jwksUrl and publicKeys', () => {
    expect(() => parseSources({ sources: { partner } })).toThrow(/sources\.partner.*jwksUrl/);
  });

  it('refuses secrets on a jwt source and a missing url on a twilio source', () => {
    expect(() =>
      parseSources({
        sources: { partner: { ...partner, jwksUrl: 'https://issuer.example/jwks.json', secrets: ['x'] } },
      }),
    ).toThrow(/sources\.partner\.secrets: the jwt provider takes no secrets/);
    expect(() => parseSources({ sources: { sms: { provider: 'twilio', secrets: ['x'] } } })).toThrow(
      /sources\.sms\.url/,
    );
  });
});

describe('handlers and unresolved secrets', () => {
  it('resolves a handler path against the sources file', () => {
    const sources = parseSources(
      { sources: { pay: { provider: 'stripe', secrets: ['x'], handler: './handlers/pay.mjs' } } },
      { file: '/etc/inlet/inlet.sources.json' },
    );
    expect(sources.get('pay')?.handler).toBe('/etc/inlet/handlers/pay.mjs');
  });

  it('leaves env: secrets alone when asked to skip them', () => {
    const sources = parseSources(
      { sources: { pay: { provider: 'stripe', secrets: ['env:NOT_SET_HERE'] } } },
      { env: {}, secrets: 'skip' },
    );
    expect(sources.get('pay')?.settings.secrets).toEqual(['env:NOT_SET_HERE']);
  });
});

describe('rate limits and allowed addresses', () => {
  it('reads rateLimit and allowedIps', () => {
    const sources = parseSources({
      sources: {
        gh: {
          provider: 'github',
          secrets: ['x'],
          rateLimit: { points: 50, durationSeconds: 10 },
          allowedIps: ['192.30.252.0/22', '2606:50c0::/32'],
        },
        plain: { provider: 'github', secrets: ['x'] },
      },
    });
    const gh = sources.get('gh');
    expect(gh?.rateLimit).toEqual({ points: 50, durationSeconds: 10 });
    expect(gh?.allowedIps?.ranges).toEqual(['192.30.252.0/22', '2606:50c0::/32']);
    expect(sources.get('plain')?.rateLimit).toBeUndefined();
    expect(sources.get('plain')?.allowedIps).toBeUndefined();
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    [
      'zero points',
      { rateLimit: { points: 0, durationSeconds: 1 } },
      'sources.a.rateLimit.points: must be at least 1',
    ],
    [
      'fractional seconds',
      { rateLimit: { points: 5, durationSeconds: 0.5 } },
      'sources.a.rateLimit.durationSeconds: must be a whole number of seconds',
    ],
    ['a missing field', { rateLimit: { points: 5 } }, 'sources.a.rateLimit.durationSeconds'],
    ['an unknown field', { rateLimit: { points: 5, durationSeconds: 1, burst: 2 } }, 'sources.a.rateLimit'],
    ['an empty list', { allowedIps: [] }, 'sources.a.allowedIps: needs at least one address or CIDR range'],
    [
      'a bad prefix',
      { allowedIps: ['10.0.0.0/8', '192.0.2.0/33'] },
      'sources.a.allowedIps[1]: "192.0.2.0/33" is not an IP address or CIDR range',
    ],
    ['a host name', { allowedIps: ['hooks.example.com'] }, 'sources.a.allowedIps[0]: "hooks.example.com"'],
    ['a string instead of a list', { allowedIps: '10.0.0.0/8' }, 'sources.a.allowedIps'],
  ];
  it.each(bad)('names the field for %s', (_name, fields, expected) => {
    const error = errorOf(() =>
      parseSources({ sources: { a: { provider: 'github', secrets: ['x'], ...fields } } }),
    );
    expect(error.message).toContain(expected);
  });
});

describe('requireEnvSecrets', () => {
  const document = {
    sources: {
      gh: { provider: 'github', secrets: ['env:GH_SECRET'] },
      pay: { provider: 'stripe', secrets: ['env:PAY_NEW', 'whsec_literal_value'] },
    },
  };

  it('accepts a file whose secrets are all env: references', () => {
    const sources = parseSources(
      { sources: { gh: document.sources.gh } },
      { env: { GH_SECRET: 'from-env' }, requireEnvSecrets: true },
    );
    expect(sources.get('gh')?.settings.secrets).toEqual(['from-env']);
  });

  it('stops at a literal secret, naming the field and never the value', () => {
    const error = errorOf(() =>
      parseSources(document, { env: { GH_SECRET: 'a', PAY_NEW: 'b' }, requireEnvSecrets: true }),
    );
    expect(error.message).toContain('sources.pay.secrets[1]: must be an env:NAME reference');
    expect(error.message).not.toContain('whsec_literal_value');
  });

  it('applies when secrets are skipped too, and is off by default', () => {
    expect(() => parseSources(document, { secrets: 'skip', requireEnvSecrets: true })).toThrow(
      /sources\.pay\.secrets\[1\]/,
    );
    expect(parseSources(document, { env: { GH_SECRET: 'a', PAY_NEW: 'b' } }).size).toBe(2);
  });

  it('leaves sources without secrets alone (a jwt source has public keys only)', () => {
    const sources = parseSources(
      {
        sources: {
          partner: {
            provider: 'jwt',
            jwksUrl: 'https://issuer.example/jwks.json',
            issuer: 'https://issuer.example/',
            audience: 'https://hooks.example/webhooks/partner',
          },
        },
      },
      { requireEnvSecrets: true },
    );
    expect(sources.size).toBe(1);
  });
});
