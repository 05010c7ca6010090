import { createHash, createHmac, createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { createMemoryNonceStore } from '../memory-nonce-store.js';
import type { NonceStore, VerifyContext } from '../provider.js';
import { jwt, jwtOptionsSchema, validateJwtOptions } from './jwt.js';
import { generateJwtKeyPair, type JwtKeyPair } from './jwt-signing-key.js';

const ISSUER = 'https://issuer.example/';
const AUDIENCE = 'https://hooks.example/webhooks/partner';
const BODY = '{"event_type":"order.created","id":"ord_1"}';

const invalidToken = { name: 'SignatureError', code: 'invalid_token' };

// ---- a JWKS server on loopback: each test serves its own path, so caches never mix ----

interface Route {
  keys: JWK[];
  status: number;
  hang: boolean;
  fetches: number;
}

const routes = new Map<string, Route>();
let server: Server;
let baseUrl: string;

function serve(path: string, keys: JWK[], init: Partial<Pick<Route, 'status' | 'hang'>> = {}): Route {
  const route: Route = { keys, status: init.status ?? 200, hang: init.hang ?? false, fetches: 0 };
  routes.set(path, route);
  return route;
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const route = routes.get(request.url ?? '');
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    route.fetches += 1;
    if (route.hang) return; // never answers
    response.writeHead(route.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: route.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

// ---- keys ----

let es: JwtKeyPair;
let esNext: JwtKeyPair;
let rsa: JwtKeyPair;
let ed: JwtKeyPair;
let rsaPublicPem: string;
let rsaPrivatePem: string;

beforeAll(async () => {
  [es, esNext, rsa, ed] = await Promise.all([
    generateJwtKeyPair('ES256'),
    generateJwtKeyPair('ES256'),
    generateJwtKeyPair('RS256'),
    generateJwtKeyPair('EdDSA'),
  ]);
  rsaPublicPem = createPublicKey({ key: rsa.publicJwk, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  rsaPrivatePem = createPrivateKey({ key: rsa.privateJwk, format: 'jwk' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();
});

// ---- helpers ----

function source(options: Record<string, unknown>) {
  return {
    secrets: [],
    toleranceSeconds: 300,
    ...jwtOptionsSchema.parse({ issuer: ISSUER, audience: AUDIENCE, ...options }),
  };
}

function jwksSource(path: string, keys: JWK[], options: Record<string, unknown> = {}) {
  const route = serve(path, keys);
  return { route, source: source({ jwksUrl: `${baseUrl}${path}`, ...options }) };
}

function context(nonces: NonceStore = createMemoryNonceStore()): VerifyContext {
  return { sourceName: 'partner', nonces };
}

function request(headers: Record<string, string>, body = BODY, now = Date.now()) {
  return createDeliveryRequest({ body, headers, now });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token with valid defaults; `claims` overrides them, and a claim (or `kid`) set to null is left out. */
async function token(
  pair: JwtKeyPair,
  claims: Record<string, unknown> = {},
  header: { readonly kid?: string | null } = {},
): Promise<string> {
  const now = nowSeconds();
  const payload: JWTPayload = {};
  const all = { iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300, jti: randomUUID(), ...claims };
  for (const [name, value] of Object.entries(all)) if (value !== null) payload[name] = value;
  const alg = pair.publicJwk.alg ?? 'ES256';
  const protectedHeader: JWTHeaderParameters = { alg };
  const kid = header.kid === undefined ? pair.kid : header.kid;
  if (kid !== null) protectedHeader.kid = kid;
  return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(await importJWK(pair.privateJwk, alg));
}

async function signed(
  src: ReturnType<typeof source>,
  pair: JwtKeyPair,
  id: string = randomUUID(),
  body = BODY,
) {
  return jwt.sign({ body, secret: JSON.stringify(pair.privateJwk), timestamp: nowSeconds(), id }, src);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('jwt', () => {
  describe('with a JWKS', () => {
    it('verifies a signed token and takes the event id from jti', async () => {
      const { source: src } = jwksSource('/valid', [es.publicJwk]);
      const headers = await signed(src, es, 'delivery-1');
      await expect(jwt.verify(request(headers), src, context())).resolves.toEqual({
        eventId: 'delivery-1',
        eventType: undefined,
      });
    });

    it('fetches the JWKS once and serves later tokens from the cache', async () => {
      const { route, source: src } = jwksSource('/cached', [es.publicJwk]);
      for (let i = 0; i < 3; i += 1) {
        await expect(jwt.verify(request(bearer(await token(es))), src, context())).resolves.toBeDefined();
      }
      expect(route.fetches).toBe(1);
    });

    it('reads the event type from event_type, else type', async () => {
      const { source: src } = jwksSource('/types', [es.publicJwk]);
      const first = await token(es, { jti: 'a', event_type: 'order.created', type: 'ignored' });
      await expect(jwt.verify(request(bearer(first)), src, context())).resolves.toEqual({
        eventId: 'a',
        eventType: 'order.created',
      });
      const second = await token(es, { jti: null, type: 'order.paid' });
      await expect(jwt.verify(request(bearer(second)), src, context())).resolves.toEqual({
        eventId: undefined,
        eventType: 'order.paid',
      });
    });

    it('follows key rotation by kid: refetches for a new kid, keeps the old one while it is served', async () => {
      const { route, source: src } = jwksSource('/rotation', [es.publicJwk]);
      const oldToken = await token(es);
      await expect(jwt.verify(request(bearer(oldToken)), src, context())).resolves.toBeDefined();
      expect(route.fetches).toBe(1);

      route.keys = [es.publicJwk, esNext.publicJwk];
      // Right after a fetch, an unknown kid is refused without hammering the issuer.
      await expect(jwt.verify(request(bearer(await token(esNext))), src, context())).rejects.toMatchObject(
        invalidToken,
      );
      expect(route.fetches).toBe(1);

      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        vi.setSystemTime(Date.now() + 31_000);
        await expect(jwt.verify(request(bearer(await token(esNext))), src, context())).resolves.toBeDefined();
        expect(route.fetches).toBe(2);
        await expect(jwt.verify(request(bearer(await token(es))), src, context())).resolves.toBeDefined();
        expect(route.fetches).toBe(2);
      } finally {
        vi.useRealTimers();
      }
    });

    it('refuses a token signed by a key the JWKS does not hold, even under a known kid', async () => {
      const { source: src } = jwksSource('/forged', [es.publicJwk]);
      const forged = await token(esNext, {}, { kid: es.kid });
      await expect(jwt.verify(request(bearer(forged)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token signature does not verify.',
      });
    });

    it('answers unavailable (retry later) within the timeout when the JWKS never answers', async () => {
      serve('/hang', [], { hang: true });
      const src = source({ jwksUrl: `${baseUrl}/hang`, jwksTimeoutMs: 200 });
      const timersBefore = process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;
      const started = performance.now();
      await expect(jwt.verify(request(bearer(await token(es))), src, context())).rejects.toMatchObject({
        name: 'VerifierUnavailableError',
        code: 'unavailable',
        message: "The issuer's signing keys (JWKS) could not be fetched in time.",
      });
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(2000);
      const timersAfter = process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;
      expect(timersAfter).toBeLessThanOrEqual(timersBefore);
    });

    it('answers unavailable (retry later) when the JWKS cannot be fetched', async () => {
      serve('/down', [], { status: 500 });
      const src = source({ jwksUrl: `${baseUrl}/down` });
      await expect(jwt.verify(request(bearer(await token(es))), src, context())).rejects.toMatchObject({
        name: 'VerifierUnavailableError',
        code: 'unavailable',
        message: "The issuer's signing keys (JWKS) could not be fetched or read.",
      });
    });
  });

  describe('claims and clock', () => {
    const at = (path: string, options: Record<string, unknown> = {}) =>
      jwksSource(path, [es.publicJwk], options).source;

    it('refuses an expired token, but not one expired within the clock tolerance', async () => {
      const src = at('/expired');
      const expired = await token(es, { iat: nowSeconds() - 600, exp: nowSeconds() - 31 });
      await expect(jwt.verify(request(bearer(expired)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token has expired.',
      });
      const late = await token(es, { iat: nowSeconds() - 600, exp: nowSeconds() - 20 });
      await expect(jwt.verify(request(bearer(late)), src, context())).resolves.toBeDefined();
    });

    it('uses the request clock, not the wall clock', async () => {
      const src = at('/request-clock');
      const valid = await token(es);
      const later = Date.now() + 3_600_000;
      await expect(jwt.verify(request(bearer(valid), BODY, later), src, context())).rejects.toMatchObject(
        invalidToken,
      );
    });

    it('refuses a token without exp', async () => {
      const noExp = await token(es, { exp: null });
      await expect(jwt.verify(request(bearer(noExp)), at('/no-exp'), context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token has no exp claim.',
      });
    });

    it('refuses a token whose nbf is in the future beyond the tolerance', async () => {
      const src = at('/nbf');
      const early = await token(es, { nbf: nowSeconds() + 120 });
      await expect(jwt.verify(request(bearer(early)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token is not valid yet (nbf).',
      });
      const skewed = await token(es, { nbf: nowSeconds() + 10 });
      await expect(jwt.verify(request(bearer(skewed)), src, context())).resolves.toBeDefined();
    });

    it('refuses a token issued in the future beyond the tolerance', async () => {
      const future = await token(es, { iat: nowSeconds() + 120 });
      await expect(jwt.verify(request(bearer(future)), at('/iat'), context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token was issued in the future (iat).',
      });
    });

    it('refuses a token issued longer ago than maxTokenAgeSeconds (default 1 h), even if it has not expired', async () => {
      const twoHoursAgo = nowSeconds() - 7200;
      const old = await token(es, { iat: twoHoursAgo, exp: nowSeconds() + 86_400 });
      await expect(jwt.verify(request(bearer(old)), at('/max-age'), context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token was issued too long ago (iat is older than maxTokenAgeSeconds).',
      });
      const threeHours = at('/max-age-3h', { maxTokenAgeSeconds: 10_800 });
      await expect(jwt.verify(request(bearer(old)), threeHours, context())).resolves.toBeDefined();
      // The clock tolerance applies to the age as to every other time.
      const edge = await token(es, { iat: nowSeconds() - 3600 - 10 });
      await expect(jwt.verify(request(bearer(edge)), at('/max-age-edge'), context())).resolves.toBeDefined();
    });

    it('refuses a token without iat, or with an iat that is not a number', async () => {
      const src = at('/no-iat');
      const noIat = await token(es, { iat: null });
      await expect(jwt.verify(request(bearer(noIat)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token has no iat claim.',
      });
      const textIat = await token(es, { iat: String(nowSeconds()) });
      await expect(jwt.verify(request(bearer(textIat)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token iat claim is not accepted.',
      });
    });

    it("uses the source's clock tolerance", async () => {
      const src = at('/tolerance', { clockToleranceSeconds: 0 });
      const late = await token(es, { iat: nowSeconds() - 600, exp: nowSeconds() - 5 });
      await expect(jwt.verify(request(bearer(late)), src, context())).rejects.toMatchObject(invalidToken);
    });

    it('refuses a wrong or missing audience', async () => {
      const src = at('/audience');
      for (const aud of ['https://hooks.example/webhooks/other', ['https://elsewhere.example/'], null]) {
        const wrong = await token(es, { aud });
        await expect(jwt.verify(request(bearer(wrong)), src, context())).rejects.toMatchObject(invalidToken);
      }
    });

    it('accepts any configured audience, and a token audience list that holds one', async () => {
      const src = at('/audiences', { audience: ['https://a.example/', AUDIENCE] });
      const single = await token(es);
      await expect(jwt.verify(request(bearer(single)), src, context())).resolves.toBeDefined();
      const listed = await token(es, { aud: ['https://other.example/', 'https://a.example/'] });
      await expect(jwt.verify(request(bearer(listed)), src, context())).resolves.toBeDefined();
    });

    it('refuses a wrong or missing issuer', async () => {
      const src = at('/issuer');
      for (const iss of ['https://evil.example/', 'https://issuer.example', null]) {
        const wrong = await token(es, { iss });
        await expect(jwt.verify(request(bearer(wrong)), src, context())).rejects.toMatchObject(invalidToken);
      }
    });
  });

  describe('algorithms', () => {
    it('refuses alg none, with or without a signature', async () => {
      const { source: src } = jwksSource('/none', [es.publicJwk]);
      const claims = {
        iss: ISSUER,
        aud: AUDIENCE,
        iat: nowSeconds(),
        exp: nowSeconds() + 300,
        jti: 'none-1',
      };
      const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      await expect(jwt.verify(request(bearer(unsigned)), src, context())).rejects.toMatchObject(invalidToken);
      const fakeSigned = `${b64url({ alg: 'none', kid: es.kid })}.${b64url(claims)}.c2lnbmF0dXJl`;
      await expect(jwt.verify(request(bearer(fakeSigned)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token algorithm none is not allowed for this source.',
      });
    });

    it('refuses an HS256 token whose HMAC key is the public key (algorithm confusion)', async () => {
      const claims = { iss: ISSUER, aud: AUDIENCE, iat: nowSeconds(), exp: nowSeconds() + 300, jti: 'hs-1' };
      const forge = (key: string, kid?: string) => {
        const signingInput = `${b64url(kid === undefined ? { alg: 'HS256' } : { alg: 'HS256', kid })}.${b64url(claims)}`;
        return `${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`;
      };
      const local = source({ publicKeys: [rsaPublicPem], algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'] });
      await expect(jwt.verify(request(bearer(forge(rsaPublicPem))), local, context())).rejects.toMatchObject(
        invalidToken,
      );
      const { source: remote } = jwksSource('/hs256', [rsa.publicJwk]);
      await expect(
        jwt.verify(request(bearer(forge(JSON.stringify(rsa.publicJwk), rsa.kid))), remote, context()),
      ).rejects.toMatchObject(invalidToken);
    });

    it('refuses a token whose algorithm is valid but not in the allow-list', async () => {
      const { source: src } = jwksSource('/allow-list', [ed.publicJwk], { algorithms: ['ES256'] });
      await expect(jwt.verify(request(bearer(await token(ed))), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token algorithm EdDSA is not allowed for this source.',
      });
    });

    it('never lets a source allow none or HS*', () => {
      for (const algorithms of [['none'], ['HS256'], ['RS256', 'HS512'], []]) {
        const parsed = jwtOptionsSchema.safeParse({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUrl: baseUrl,
          algorithms,
        });
        expect(parsed.success).toBe(false);
      }
    });
  });

  describe('single use (requireJti)', () => {
    it('accepts a token id once, namespaced by source and issuer, for as long as the token lives', async () => {
      const claimed: [string, number][] = [];
      const memory = createMemoryNonceStore();
      const nonces: NonceStore = {
        claim: (key, ttl) => {
          claimed.push([key, ttl]);
          return memory.claim(key, ttl);
        },
      };
      const { source: src } = jwksSource('/jti', [es.publicJwk], { requireJti: true });
      const once = await token(es, { jti: 'jti-1', exp: nowSeconds() + 120 });
      await expect(jwt.verify(request(bearer(once)), src, context(nonces))).resolves.toMatchObject({
        eventId: 'jti-1',
      });
      await expect(jwt.verify(request(bearer(once)), src, context(nonces))).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token has already been used (jti).',
      });
      expect(claimed[0]?.[0]).toBe(`partner:${ISSUER}:jti-1`);
      expect(claimed[0]?.[1]).toBeGreaterThanOrEqual(149);
      expect(claimed[0]?.[1]).toBeLessThanOrEqual(151);
    });

    it('remembers a token id only until the token is too old to be accepted, when that comes before exp', async () => {
      const claimed: number[] = [];
      const memory = createMemoryNonceStore();
      const nonces: NonceStore = {
        claim: (key, ttl) => {
          claimed.push(ttl);
          return memory.claim(key, ttl);
        },
      };
      const { source: src } = jwksSource('/jti-age', [es.publicJwk], {
        requireJti: true,
        maxTokenAgeSeconds: 600,
      });
      const dayLong = await token(es, {
        jti: 'jti-age',
        iat: nowSeconds() - 100,
        exp: nowSeconds() + 86_400,
      });
      await expect(jwt.verify(request(bearer(dayLong)), src, context(nonces))).resolves.toBeDefined();
      // iat + 600 s is 500 s from now, plus 30 s of tolerance.
      expect(claimed[0]).toBeGreaterThanOrEqual(529);
      expect(claimed[0]).toBeLessThanOrEqual(531);
    });

    it('accepts a reused token when requireJti is off', async () => {
      const { source: src } = jwksSource('/jti-off', [es.publicJwk]);
      const nonces = createMemoryNonceStore();
      const reused = await token(es, { jti: 'jti-2' });
      await expect(jwt.verify(request(bearer(reused)), src, context(nonces))).resolves.toBeDefined();
      await expect(jwt.verify(request(bearer(reused)), src, context(nonces))).resolves.toBeDefined();
    });

    it('refuses a token without jti when requireJti is on', async () => {
      const { source: src } = jwksSource('/jti-missing', [es.publicJwk], { requireJti: true });
      const noJti = await token(es, { jti: null });
      await expect(jwt.verify(request(bearer(noJti)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token has no jti claim.',
      });
    });

    it('does not use up the id of a token refused for another reason', async () => {
      const { source: src } = jwksSource('/jti-order', [es.publicJwk], {
        requireJti: true,
        bodyHashClaim: 'body_sha256',
      });
      const nonces = createMemoryNonceStore();
      const headers = await signed(src, es, 'jti-3');
      await expect(jwt.verify(request(headers, 'another body'), src, context(nonces))).rejects.toMatchObject(
        invalidToken,
      );
      await expect(jwt.verify(request(headers), src, context(nonces))).resolves.toMatchObject({
        eventId: 'jti-3',
      });
    });
  });

  describe('bodyHashClaim', () => {
    const sha256 = (body: string) => createHash('sha256').update(body);

    it('binds the token to the body (base64url, as sign writes it)', async () => {
      const { source: src } = jwksSource('/body-hash', [es.publicJwk], { bodyHashClaim: 'body_sha256' });
      const headers = await signed(src, es);
      await expect(jwt.verify(request(headers), src, context())).resolves.toBeDefined();
      await expect(jwt.verify(request(headers, `${BODY} `), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'The token body_sha256 claim does not match the body.',
      });
    });

    it('accepts the hash as hex in either case', async () => {
      const { source: src } = jwksSource('/body-hash-hex', [es.publicJwk], { bodyHashClaim: 'body_sha256' });
      const hex = sha256(BODY).digest('hex');
      for (const value of [hex, hex.toUpperCase()]) {
        const bound = await token(es, { body_sha256: value });
        await expect(jwt.verify(request(bearer(bound)), src, context())).resolves.toBeDefined();
      }
      const otherBody = await token(es, { body_sha256: sha256('{}').digest('hex') });
      await expect(jwt.verify(request(bearer(otherBody)), src, context())).rejects.toMatchObject(
        invalidToken,
      );
    });

    it('refuses a token without the claim or with a value that is no SHA-256', async () => {
      const { source: src } = jwksSource('/body-hash-missing', [es.publicJwk], {
        bodyHashClaim: 'body_sha256',
      });
      const digest = sha256(BODY).digest();
      const truncated = [digest.toString('base64url').slice(1), digest.toString('hex').slice(2)];
      for (const value of [null, 42, '', 'not a hash', ...truncated, [digest.toString('hex')]]) {
        const bound = await token(es, { body_sha256: value });
        await expect(jwt.verify(request(bearer(bound)), src, context())).rejects.toMatchObject(invalidToken);
      }
    });
  });

  describe('the credential header', () => {
    const src = () => jwksSource(`/header-${randomUUID()}`, [es.publicJwk]).source;

    it('reports a missing or empty Authorization header as missing_signature', async () => {
      const s = src();
      for (const headers of [{}, { Authorization: '' }, { Authorization: '   ' }]) {
        await expect(jwt.verify(request(headers), s, context())).rejects.toMatchObject({
          name: 'SignatureError',
          code: 'missing_signature',
        });
      }
    });

    it.each([
      ['a bare scheme', 'Bearer'],
      ['two segments', 'Bearer a.b'],
      ['four segments', 'Bearer a.b.c.d'],
      ['two tokens', 'Bearer a.b.c d.e.f'],
      ['another scheme', 'Basic xyz'],
      ['no scheme', 'eyJh.eyJh.c2ln'],
      ['a huge value', `Bearer ${'a'.repeat(9000)}`],
      ['garbage in the header segment', 'Bearer e30.e30.c2ln'],
      ['a header that is not JSON', 'Bearer bm90IGpzb24.e30.c2ln'],
    ])('refuses %s as invalid_token', async (_case, value) => {
      await expect(jwt.verify(request({ Authorization: value }), src(), context())).rejects.toMatchObject(
        invalidToken,
      );
    });

    it('accepts a lower-case scheme', async () => {
      const valid = await token(es);
      await expect(
        jwt.verify(request({ authorization: `bearer ${valid}` }), src(), context()),
      ).resolves.toBeDefined();
    });

    it('reads a custom header, bare or with Bearer, and signs into it', async () => {
      const { source: custom } = jwksSource('/custom-header', [es.publicJwk], { header: 'X-Partner-Token' });
      const valid = await token(es);
      for (const value of [valid, `Bearer ${valid}`]) {
        await expect(
          jwt.verify(request({ 'x-partner-token': value }), custom, context()),
        ).resolves.toBeDefined();
      }
      await expect(jwt.verify(request(bearer(valid)), custom, context())).rejects.toMatchObject({
        name: 'SignatureError',
        code: 'missing_signature',
      });
      const headers = await signed(custom, es);
      expect(Object.keys(headers)).toEqual(['X-Partner-Token']);
      await expect(jwt.verify(request(headers), custom, context())).resolves.toBeDefined();
    });

    it('lists Authorization as its credential header and takes no secrets', () => {
      expect(jwt.credentialHeaders).toEqual(['authorization']);
      expect(jwt.usesSecrets).toBe(false);
    });
  });

  describe('requiredClaims', () => {
    const requiredClaims = { tenant: 'acme', version: 2, live: true, scope: ['webhooks:write', 'orders'] };
    const src = () => jwksSource(`/claims-${randomUUID()}`, [es.publicJwk], { requiredClaims }).source;
    const met = { tenant: 'acme', version: 2, live: true, scope: 'openid orders webhooks:write' };

    it.each([
      ['all claims met, scope as a space-separated string', met],
      ['scope as a list', { ...met, scope: ['orders', 'webhooks:write', 'profile'] }],
      ['a string required claim held in a list claim', { ...met, tenant: ['other', 'acme'] }],
    ])('accepts %s', async (_case, claims) => {
      await expect(
        jwt.verify(request(bearer(await token(es, claims))), src(), context()),
      ).resolves.toBeDefined();
    });

    it.each([
      ['another string', { ...met, tenant: 'acme2' }],
      ['a missing claim', { ...met, tenant: null }],
      ['a number as a string', { ...met, version: '2' }],
      ['a false boolean', { ...met, live: false }],
      ['a scope lacking one value', { ...met, scope: 'openid webhooks:write' }],
      ['a scope value that only starts alike', { ...met, scope: 'orders webhooks:writer' }],
      ['a scope that is not a string or list', { ...met, scope: 7 }],
    ])('refuses %s', async (_case, claims) => {
      await expect(
        jwt.verify(request(bearer(await token(es, claims))), src(), context()),
      ).rejects.toMatchObject(invalidToken);
    });

    it('signs the required claims so that its own tokens verify', async () => {
      const s = src();
      await expect(jwt.verify(request(await signed(s, es)), s, context())).resolves.toBeDefined();
    });

    it('may not name claims the provider checks itself', () => {
      for (const name of ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti']) {
        const parsed = jwtOptionsSchema.safeParse({
          issuer: ISSUER,
          audience: AUDIENCE,
          jwksUrl: baseUrl,
          requiredClaims: { [name]: 'x' },
        });
        expect(parsed.success).toBe(false);
      }
    });
  });

  describe('with publicKeys', () => {
    it('verifies with a PEM public key, whatever kid the token names', async () => {
      const src = source({ publicKeys: [rsaPublicPem] });
      await expect(jwt.verify(request(bearer(await token(rsa))), src, context())).resolves.toBeDefined();
      const noKid = await token(rsa, {}, { kid: null });
      await expect(jwt.verify(request(bearer(noKid)), src, context())).resolves.toBeDefined();
    });

    it('verifies with a public JWK and refuses what another key signed', async () => {
      const src = source({ publicKeys: [ed.publicJwk] });
      await expect(jwt.verify(request(bearer(await token(ed))), src, context())).resolves.toBeDefined();
      const other = await token(esNext, {}, { kid: ed.kid });
      await expect(jwt.verify(request(bearer(other)), src, context())).rejects.toMatchObject(invalidToken);
    });

    it('tries every key that fits (rotation without kids)', async () => {
      const bare = ({ kid: _kid, alg: _alg, use: _use, ...jwk }: JWK): JWK => jwk;
      const src = source({ publicKeys: [bare(es.publicJwk), bare(esNext.publicJwk)] });
      for (const pair of [es, esNext]) {
        const noKid = await token(pair, {}, { kid: null });
        await expect(jwt.verify(request(bearer(noKid)), src, context())).resolves.toBeDefined();
      }
    });

    it('refuses a token whose kid names no configured key when all keys have kids', async () => {
      const src = source({ publicKeys: [es.publicJwk] });
      const unknownKid = await token(es, {}, { kid: 'somebody-else' });
      await expect(jwt.verify(request(bearer(unknownKid)), src, context())).rejects.toMatchObject({
        ...invalidToken,
        message: 'No configured key fits the token (kid and alg).',
      });
    });

    it('signs with a PEM private key and verifies with its PEM public key', async () => {
      const src = source({ publicKeys: [rsaPublicPem] });
      const headers = await jwt.sign(
        { body: BODY, secret: rsaPrivatePem, timestamp: nowSeconds(), id: 'pem-1' },
        src,
      );
      await expect(jwt.verify(request(headers), src, context())).resolves.toMatchObject({ eventId: 'pem-1' });
    });
  });

  describe('options', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE };
    const issues = (options: Record<string, unknown>) => {
      const parsed = jwtOptionsSchema.safeParse({ ...base, ...options });
      return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
    };

    it('applies the defaults', () => {
      expect(jwtOptionsSchema.parse({ ...base, jwksUrl: 'https://issuer.example/jwks.json' })).toEqual({
        ...base,
        jwksUrl: 'https://issuer.example/jwks.json',
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        header: 'authorization',
        clockToleranceSeconds: 30,
        maxTokenAgeSeconds: 3600,
        requireJti: false,
        jwksTimeoutMs: 3000,
      });
    });

    it('needs exactly one of jwksUrl and publicKeys', () => {
      expect(issues({})).toEqual(["needs jwksUrl (the issuer's JWKS) or publicKeys"]);
      expect(issues({ jwksUrl: 'https://issuer.example/jwks.json', publicKeys: [rsaPublicPem] })).toEqual([
        'takes either jwksUrl or publicKeys, not both',
      ]);
      expect(validateJwtOptions({ jwksUrl: 'https://issuer.example/jwks.json' })).toBeUndefined();
      expect(validateJwtOptions({ publicKeys: [rsaPublicPem] })).toBeUndefined();
      expect(validateJwtOptions({})).toBeDefined();
    });

    it('refuses a misconfigured source at verify and sign time too', async () => {
      // What the config would let through if it merged the schema's shape without its refinement.
      const { jwksUrl: _dropped, ...neither } = source({ jwksUrl: baseUrl });
      await expect(jwt.verify(request(bearer(await token(es))), neither, context())).rejects.toThrow(
        /needs jwksUrl/,
      );
      await expect(
        jwt.sign(
          { body: BODY, secret: JSON.stringify(es.privateJwk), timestamp: nowSeconds(), id: 'x' },
          neither,
        ),
      ).rejects.toThrow(/needs jwksUrl/);
    });

    it.each([
      ['an ftp URL', { jwksUrl: 'ftp://issuer.example/jwks.json' }, 'must be an https URL'],
      [
        'a plain-HTTP JWKS on another host',
        { jwksUrl: 'http://issuer.example/.well-known/jwks.json' },
        'must be an https URL (plain http only on a loopback address',
      ],
      ['a plain-HTTP JWKS on a private address', { jwksUrl: 'http://10.0.0.5/jwks.json' }, 'https'],
      [
        'a plain-HTTP JWKS on a name that starts like loopback',
        { jwksUrl: 'http://127.0.0.1.nip.io/' },
        'https',
      ],
      ['a plain-HTTP JWKS on localhost lookalikes', { jwksUrl: 'http://localhost.issuer.example/' }, 'https'],
      ['a token age of 0', { jwksUrl: 'https://issuer.example/', maxTokenAgeSeconds: 0 }, ''],
      ['a token age over a week', { jwksUrl: 'https://issuer.example/', maxTokenAgeSeconds: 604_801 }, ''],
      ['a fractional token age', { jwksUrl: 'https://issuer.example/', maxTokenAgeSeconds: 1.5 }, ''],
      ['a token age as text', { jwksUrl: 'https://issuer.example/', maxTokenAgeSeconds: '3600' }, ''],
      ['an empty key list', { publicKeys: [] }, 'needs at least one public key'],
      ['a private JWK', { publicKeys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }] }, 'private key'],
      ['a symmetric JWK', { publicKeys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, 'symmetric'],
      [
        'a private PEM',
        { publicKeys: ['-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----'] },
        'private key',
      ],
      ['text that is no key', { publicKeys: ['secret'] }, 'PEM public key'],
      ['a broken JWK', { publicKeys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }, 'not a readable JWK'],
      ['a JWK for encryption', { publicKeys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', use: 'enc' }] }, '"use"'],
      ['a tolerance over 300 s', { jwksUrl: 'https://issuer.example/', clockToleranceSeconds: 301 }, ''],
      [
        'an empty audience list',
        { jwksUrl: 'https://issuer.example/', audience: [] },
        'needs at least one audience',
      ],
      ['a reserved body hash claim', { jwksUrl: 'https://issuer.example/', bodyHashClaim: 'jti' }, 'checked'],
    ])('refuses %s', (_case, options, message) => {
      const found = issues(options);
      expect(found.length).toBeGreaterThan(0);
      expect(found.join(' | ')).toContain(message);
    });

    it('accepts a plain-HTTP JWKS on loopback only (127.0.0.0/8, ::1, localhost)', () => {
      for (const jwksUrl of [
        'http://127.0.0.1:8443/jwks.json',
        'http://127.8.9.10/jwks.json',
        'http://[::1]:9000/jwks.json',
        'http://localhost:3000/.well-known/jwks.json',
        'https://issuer.example/.well-known/jwks.json',
      ]) {
        expect(issues({ jwksUrl })).toEqual([]);
      }
    });

    it('refuses a private key PEM even with a valid body', () => {
      expect(issues({ publicKeys: [rsaPrivatePem] }).join()).toContain('is a private key');
      expect(issues({ publicKeys: [rsa.privateJwk] }).join()).toContain('is a private key');
    });
  });

  describe('sign', () => {
    it('writes iss, the first audience, iat, exp = iat + 300, jti and the kid of a JWK', async () => {
      const src = source({ publicKeys: [es.publicJwk], audience: ['https://first.example/', AUDIENCE] });
      const headers = await jwt.sign(
        { body: BODY, secret: JSON.stringify(es.privateJwk), timestamp: 1_700_000_000, id: 'evt-9' },
        src,
      );
      const value = headers.Authorization ?? '';
      expect(value.startsWith('Bearer ')).toBe(true);
      const signedToken = value.slice('Bearer '.length);
      expect(decodeProtectedHeader(signedToken)).toEqual({ alg: 'ES256', kid: es.kid, typ: 'JWT' });
      expect(decodeJwt(signedToken)).toEqual({
        iss: ISSUER,
        aud: 'https://first.example/',
        iat: 1_700_000_000,
        exp: 1_700_000_300,
        jti: 'evt-9',
      });
    });

    it('picks the first allowed algorithm that fits a key without alg', async () => {
      const rsaOnly = source({ publicKeys: [rsaPublicPem], algorithms: ['ES256', 'PS256', 'RS256'] });
      const headers = await jwt.sign(
        { body: BODY, secret: rsaPrivatePem, timestamp: nowSeconds(), id: 'ps' },
        rsaOnly,
      );
      const signedToken = (headers.Authorization ?? '').slice('Bearer '.length);
      expect(decodeProtectedHeader(signedToken).alg).toBe('PS256');
      await expect(jwt.verify(request(headers), rsaOnly, context())).resolves.toBeDefined();
    });

    it('refuses a key that fits no allowed algorithm, or a public key', async () => {
      const esOnly = source({ publicKeys: [es.publicJwk], algorithms: ['ES256'] });
      const input = { body: BODY, timestamp: nowSeconds(), id: 'x' };
      await expect(jwt.sign({ ...input, secret: rsaPrivatePem }, esOnly)).rejects.toThrow(
        /No allowed algorithm/,
      );
      await expect(jwt.sign({ ...input, secret: JSON.stringify(ed.privateJwk) }, esOnly)).rejects.toThrow(
        /not allowed/,
      );
      await expect(jwt.sign({ ...input, secret: JSON.stringify(es.publicJwk) }, esOnly)).rejects.toThrow(
        /private key/,
      );
      await expect(jwt.sign({ ...input, secret: rsaPublicPem }, esOnly)).rejects.toThrow(/PEM private key/);
    });

    it('generates key pairs that carry their kid and algorithm', async () => {
      expect(es.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: es.kid, alg: 'ES256', use: 'sig' });
      expect(es.publicJwk).not.toHaveProperty('d');
      expect(es.privateJwk).toMatchObject({ kid: es.kid, alg: 'ES256' });
      expect(ed.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
      expect(rsa.publicJwk).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    });
  });
});
