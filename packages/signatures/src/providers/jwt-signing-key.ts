import { createPrivateKey } from 'node:crypto';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { isJsonObject } from '../json-body.js';
import { isJwtAlgorithm, type JwtAlgorithm, keyFitsAlgorithm } from './jwt-keys.js';

export interface JwtSigningKey {
  readonly key: CryptoKey | Uint8Array;
  readonly alg: JwtAlgorithm;
  readonly kid: string | undefined;
}

function parsePrivateJwk(secret: string): JWK {
  const text = secret.trim();
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new TypeError('The jwt signing key looks like a JWK but is not valid JSON.');
    }
    if (!isJsonObject(parsed)) throw new TypeError('The jwt signing key JWK must be a JSON object.');
    return parsed;
  }
  try {
    return createPrivateKey({ key: text, format: 'pem' }).export({ format: 'jwk' });
  } catch {
    throw new TypeError('The jwt signing key must be a PEM private key (PKCS#8) or a private JWK as JSON.');
  }
}

/**
 * Imports the private key a sender signs with (PEM PKCS#8, or a JWK as JSON text) and picks its
 * algorithm: the JWK's own `alg`, else the first of the source's algorithms that fits the key type.
 */
export async function importSigningKey(
  secret: string,
  algorithms: readonly JwtAlgorithm[],
): Promise<JwtSigningKey> {
  const jwk = parsePrivateJwk(secret);
  if (typeof jwk.d !== 'string') {
    throw new TypeError('The jwt signing key must be a private key (a JWK with "d").');
  }
  const alg = jwk.alg ?? algorithms.find((candidate) => keyFitsAlgorithm(jwk, candidate));
  if (alg === undefined) {
    throw new TypeError(`No allowed algorithm (${algorithms.join(', ')}) fits the jwt signing key.`);
  }
  if (!isJwtAlgorithm(alg) || !algorithms.includes(alg) || !keyFitsAlgorithm(jwk, alg)) {
    throw new TypeError(
      `The jwt signing key's alg ${alg} is not allowed for this source or does not fit the key.`,
    );
  }
  return { key: await importJWK(jwk, alg), alg, kid: typeof jwk.kid === 'string' ? jwk.kid : undefined };
}

export interface JwtKeyPair {
  /** The RFC 7638 thumbprint of the public key, set as `kid` on both keys. */
  readonly kid: string;
  /** Signs: give it (as JSON text) to `sign` or `inlet send`; never configure it on a source. */
  readonly privateJwk: JWK;
  /** Verifies: put it in a source's `publicKeys` or in the JWKS the issuer serves. */
  readonly publicJwk: JWK;
}

/** A fresh key pair as JWKs with `kid`, `alg` and `use: "sig"` (tests, the CLI, a partner's first setup). */
export async function generateJwtKeyPair(alg: JwtAlgorithm = 'ES256'): Promise<JwtKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const labels = { kid, alg, use: 'sig' } as const;
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), ...labels },
    publicJwk: { ...publicJwk, ...labels },
  };
}
