import { createPrivateKey, type JsonWebKey, randomUUID, sign } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateJwtKeyPair, type JwtKeyPair } from '@inlet/signatures';
import { exited } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, type Stack, startStack } from './support.js';

const cli = async (args: string[], env: Record<string, string> = {}) => {
  const run = runNode('apps/cli/dist/main.js', env, args);
  const code = await exited(run.child);
  return { code, output: run.output() };
};

describe('inlet sources check on a hostile or careless sources file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-sources-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the line and column of a JSON syntax error, never the literal secret beside it', async () => {
    const secret = 'shpss_LITERAL-E-123456';
    const file = path.join(dir, 'broken.json');
    const lines = [
      '{',
      '  "sources": {',
      `    "shop": { "provider": "shopify", "secrets": ["${secret}",] }`,
      '  }',
      '}',
    ];
    await writeFile(file, lines.join('\n'));
    const { code, output } = await cli(['sources', 'check', file]);
    expect(code).toBe(2);
    const column = (lines[2] ?? '').indexOf(',]') + 2;
    expect(output).toContain(`inlet: ${file}: (root): not valid JSON at line 3, column ${column}`);
    for (let start = 0; start + 4 <= secret.length; start += 1) {
      expect(output).not.toContain(secret.slice(start, start + 4));
    }
  });

  const jwtSource = (jwksUrl: string) => ({
    sources: {
      partner: {
        provider: 'jwt',
        jwksUrl,
        issuer: 'https://issuer.example/',
        audience: 'https://hooks.example/webhooks/partner',
      },
    },
  });

  it('refuses a jwksUrl over plain HTTP, naming the field', async () => {
    const file = path.join(dir, 'http-jwks.json');
    await writeFile(file, JSON.stringify(jwtSource('http://issuer.example/.well-known/jwks.json')));
    const { code, output } = await cli(['sources', 'check', file]);
    expect(code).toBe(2);
    expect(output).toContain('sources.partner.jwksUrl: must be an https URL');
  });

  it('accepts a plain-HTTP jwksUrl on loopback (an issuer on the same host)', async () => {
    const file = path.join(dir, 'loopback-jwks.json');
    await writeFile(file, JSON.stringify(jwtSource('http://127.0.0.1:8443/.well-known/jwks.json')));
    const { code, output } = await cli(['sources', 'check', file]);
    expect(output).toContain('1 source(s), valid');
    expect(code).toBe(0);
  });
});

/** A compact ES256 JWT with exactly these claims (the provider's own signer always writes a fresh iat). */
function es256Token(pair: JwtKeyPair, claims: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'ES256', typ: 'JWT', kid: pair.kid })}.${encode(claims)}`;
  const key = createPrivateKey({ key: pair.privateJwk as JsonWebKey, format: 'jwk' });
  const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

describe('ingest refuses a jwt bearer token issued too long ago', () => {
  const issuer = 'https://issuer.example/';
  const audience = 'https://hooks.example/webhooks/partner';
  let pair: JwtKeyPair;
  let stack: Stack;

  beforeAll(async () => {
    pair = await generateJwtKeyPair('ES256');
    const base = { provider: 'jwt', issuer, audience, publicKeys: [pair.publicJwk] };
    stack = await startStack({
      sources: { partner: base, 'slow-partner': { ...base, maxTokenAgeSeconds: 10_800 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const post = async (source: string, claims: Record<string, unknown>) => {
    const response = await fetch(`${stack.ingestUrl}/webhooks/${source}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${es256Token(pair, claims)}`, 'content-type': 'application/json' },
      body: '{"order":"A-1"}',
    });
    return { status: response.status, body: await response.text() };
  };

  it('answers 401 invalid_token to a token issued 2 h ago that has not expired, unless the source allows 3 h', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = { iss: issuer, aud: audience, iat: now - 7200, exp: now + 86_400 };
    const refused = await post('partner', { ...old, jti: randomUUID() });
    expect(refused.status).toBe(401);
    expect(refused.body).toContain('"invalid_token"');
    const allowed = await post('slow-partner', { ...old, jti: randomUUID() });
    expect(allowed.status).toBe(202);
    const fresh = await post('partner', { ...old, iat: now, jti: randomUUID() });
    expect(fresh.status).toBe(202);
  });

  it('answers 401 invalid_token to a token that does not say when it was issued', async () => {
    const now = Math.floor(Date.now() / 1000);
    const noIat = await post('partner', { iss: issuer, aud: audience, exp: now + 300, jti: randomUUID() });
    expect(noIat.status).toBe(401);
    expect(noIat.body).toContain('no iat claim');
  });
});
