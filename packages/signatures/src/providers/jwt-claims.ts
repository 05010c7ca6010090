import { createHash } from 'node:crypto';
import { z } from 'zod';
import { constantTimeEqual } from '../constant-time.js';
import { decodeHex } from '../encoding.js';

/** Claims the provider checks itself (`issuer`, `audience`, expiry, token id): never configured as extra claims. */
const RESERVED_CLAIMS: readonly string[] = ['iss', 'aud', 'exp', 'nbf', 'iat', 'jti'];

export const claimNameSchema = z
  .string()
  .min(1, 'a claim name cannot be empty')
  .refine(
    (name) => !RESERVED_CLAIMS.includes(name),
    'iss, aud, exp, nbf, iat and jti are checked through issuer, audience, the clock and requireJti',
  );

const requiredClaimValueSchema = z.union(
  [
    z.string(),
    z.number(),
    z.boolean(),
    z.array(z.string()).min(1, 'a list of required values cannot be empty'),
  ],
  { error: 'a required claim is a string, a number, a boolean or a non-empty list of strings' },
);

/**
 * Claims a token must carry, by name:
 * - a string: the claim equals it, or the claim is a list that contains it;
 * - a number or a boolean: the claim equals it;
 * - a list of strings: every one is in the claim, the claim being a list of strings or a
 *   space-separated string (as an OAuth `scope`).
 */
export const requiredClaimsSchema = z.record(claimNameSchema, requiredClaimValueSchema);

export type RequiredClaims = z.infer<typeof requiredClaimsSchema>;
export type RequiredClaimValue = RequiredClaims[string];

function claimWords(claim: unknown): readonly string[] | undefined {
  if (typeof claim === 'string') return claim.split(' ').filter((word) => word !== '');
  if (Array.isArray(claim) && claim.every((item) => typeof item === 'string')) return claim;
  return undefined;
}

export function claimMatches(claim: unknown, expected: RequiredClaimValue): boolean {
  if (Array.isArray(expected)) {
    const words = claimWords(claim);
    return words !== undefined && expected.every((value) => words.includes(value));
  }
  if (typeof expected === 'string' && Array.isArray(claim)) return claim.includes(expected);
  return claim === expected;
}

/** The first configured claim the payload does not satisfy, or undefined when all are met. */
export function unmetClaim(
  payload: Readonly<Record<string, unknown>>,
  required: RequiredClaims,
): string | undefined {
  for (const [name, expected] of Object.entries(required)) {
    if (!claimMatches(payload[name], expected)) return name;
  }
  return undefined;
}

/** The body hash a sender puts in `bodyHashClaim`: base64url (no padding) of SHA-256 of the raw body. */
export function bodyHashClaimValue(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url');
}

const BASE64URL_SHA256 = /^[A-Za-z0-9_-]{43}=?$/;

/** Whether the claim is the raw body's SHA-256, as base64url (padding optional) or hex (either case). */
export function bodyHashMatches(claim: unknown, rawBody: Uint8Array): boolean {
  if (typeof claim !== 'string') return false;
  const claimed = BASE64URL_SHA256.test(claim) ? Buffer.from(claim, 'base64url') : decodeHex(claim);
  if (claimed === undefined) return false;
  return constantTimeEqual(createHash('sha256').update(rawBody).digest(), claimed);
}
