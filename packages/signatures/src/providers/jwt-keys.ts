import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  createRemoteJWKSet,
  errors,
  type JWK,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { z } from 'zod';
import { VerifierUnavailableError } from '../errors.js';

/** Asymmetric algorithms only: `none` and HS* (a MAC keyed with a public key anyone can read) never verify. */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export const DEFAULT_JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && (JWT_ALGORITHMS as readonly string[]).includes(value);
}

const KEY_TYPES: Readonly<Record<JwtAlgorithm, { readonly kty: string; readonly crv?: string }>> = {
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
  PS256: { kty: 'RSA' },
  PS384: { kty: 'RSA' },
  PS512: { kty: 'RSA' },
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
};

/** Whether a key of this type (and curve) can sign or verify with `alg`, ignoring the JWK's own `alg`. */
export function keyFitsAlgorithm(jwk: Pick<JWK, 'kty' | 'crv'>, alg: JwtAlgorithm): boolean {
  const expected = KEY_TYPES[alg];
  return jwk.kty === expected.kty && (expected.crv === undefined || jwk.crv === expected.crv);
}

const SUPPORTED_KEYS = 'RSA (2048 bits or more), EC P-256/P-384/P-521 or Ed25519';
// Members only a private or symmetric JWK has.
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'priv'] as const;

/** The public JWK of a key object, or a message saying why it cannot verify JWTs here. */
function publicJwkOf(key: KeyObject): JWK | string {
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    return 'is an RSA key shorter than 2048 bits';
  }
  let jwk: JWK;
  try {
    jwk = key.export({ format: 'jwk' });
  } catch {
    return `is not a supported key type (${SUPPORTED_KEYS})`;
  }
  return JWT_ALGORITHMS.some((alg) => keyFitsAlgorithm(jwk, alg))
    ? jwk
    : `is not a supported key type (${SUPPORTED_KEYS})`;
}

function pemPublicJwk(pem: string): JWK | string {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return 'is a private key: configure the public key only (-----BEGIN PUBLIC KEY-----)';
  }
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    return 'must be a PEM public key (SPKI, -----BEGIN PUBLIC KEY-----) or a JWK object';
  }
  try {
    return publicJwkOf(createPublicKey({ key: pem, format: 'pem' }));
  } catch {
    return 'is not a readable PEM public key';
  }
}

type JwkOption = { readonly kty: string } & Readonly<Record<string, unknown>>;

function jwkPublicJwk(jwk: JwkOption): JWK | string {
  if (jwk.kty === 'oct') {
    return 'is a symmetric (kty "oct") key: tokens must be signed with an asymmetric key; configure its public key';
  }
  if (SECRET_MEMBERS.some((member) => member in jwk)) {
    return `is a private key: configure the public key only (no ${SECRET_MEMBERS.filter((m) => m in jwk).join(', ')})`;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') return 'has a "use" other than "sig"';
  if (jwk.alg !== undefined && !isJwtAlgorithm(jwk.alg)) {
    return `has "alg" ${String(jwk.alg)}, not one of ${JWT_ALGORITHMS.join(', ')}`;
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
  } catch {
    return 'is not a readable JWK public key';
  }
  const exported = publicJwkOf(key);
  if (typeof exported === 'string') return exported;
  if (isJwtAlgorithm(jwk.alg) && !keyFitsAlgorithm(exported, jwk.alg)) {
    return `has "alg" ${jwk.alg}, which does not fit its key type`;
  }
  // Keep the members that select the key; drop anything else the issuer published.
  const selection: JWK = {};
  if (typeof jwk.kid === 'string') selection.kid = jwk.kid;
  if (isJwtAlgorithm(jwk.alg)) selection.alg = jwk.alg;
  return { ...exported, ...selection };
}

/** A configured verification key: PEM SPKI text, or a public JWK object (its `kid` and `alg` are honoured). */
export const publicKeySchema = z.union([
  z.string().superRefine((pem, context) => {
    const jwk = pemPublicJwk(pem);
    if (typeof jwk === 'string') context.addIssue({ code: 'custom', message: `public key ${jwk}` });
  }),
  z.looseObject({ kty: z.string({ error: 'a JWK needs a "kty"' }) }).superRefine((value, context) => {
    const jwk = jwkPublicJwk(value);
    if (typeof jwk === 'string') context.addIssue({ code: 'custom', message: `public key ${jwk}` });
  }),
]);

export type PublicKeyOption = z.infer<typeof publicKeySchema>;

/** The public JWK that verifies with a configured key; throws for a key the schema refuses. */
export function toVerificationJwk(option: PublicKeyOption): JWK {
  const jwk = typeof option === 'string' ? pemPublicJwk(option) : jwkPublicJwk(option);
  if (typeof jwk === 'string') throw new TypeError(`jwt source: public key ${jwk}.`);
  // jose caches the imported key per JWK object (and freezes it): the same object is reused for every token.
  return Object.freeze(jwk);
}

/**
 * The configured keys that may have signed a token with this header: the right key type for its
 * `alg`, the same `alg` when the key names one, and the same `kid` when both name one. A token
 * with a `kid` no configured key carries is tried against the keys without a `kid` (a bare PEM).
 */
export function selectLocalKeys(
  keys: readonly JWK[],
  header: Pick<ProtectedHeaderParameters, 'kid'>,
  alg: JwtAlgorithm,
): readonly JWK[] {
  const usable = keys.filter(
    (key) => keyFitsAlgorithm(key, alg) && (key.alg === undefined || key.alg === alg),
  );
  if (header.kid === undefined) return usable;
  const named = usable.filter((key) => key.kid === header.kid);
  return named.length > 0 ? named : usable.filter((key) => key.kid === undefined);
}

export interface RemoteKeysOptions {
  readonly timeoutMs: number;
}

// After a fetch, a token naming an unknown kid triggers a refetch only this much later, so a
// stream of forged kids cannot hammer the issuer; cached keys are refreshed every 10 minutes.
const COOLDOWN_MS = 30_000;
const CACHE_MAX_AGE_MS = 600_000;

/**
 * A key resolver over a remote JWKS (jose fetches it lazily, caches it and refetches on an unknown
 * `kid`). A JWKS that cannot be fetched or used in time is reported as VerifierUnavailableError so that
 * verification stays bounded and ingest answers 503 (retry later) rather than hanging.
 */
export function createRemoteKeyResolver(url: string, options: RemoteKeysOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), {
    timeoutDuration: options.timeoutMs,
    cooldownDuration: COOLDOWN_MS,
    cacheMaxAge: CACHE_MAX_AGE_MS,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      throw new VerifierUnavailableError(
        error instanceof errors.JWKSTimeout
          ? "The issuer's signing keys (JWKS) could not be fetched in time."
          : "The issuer's signing keys (JWKS) could not be fetched or read.",
      );
    }
  };
}
