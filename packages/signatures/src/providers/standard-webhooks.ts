import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as signBytes,
  verify as verifyBytes,
} from 'node:crypto';
import { z } from 'zod';
import { constantTimeEqual } from '../constant-time.js';
import { hmacDigest } from '../digest.js';
import { decodeBase64 } from '../encoding.js';
import { SignatureError } from '../errors.js';
import { requireHeader } from '../header.js';
import { defineProvider } from '../provider.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';

const SECRET_PREFIX = 'whsec_';
const SIGNING_KEY_PREFIX = 'whsk_';
const PUBLIC_KEY_PREFIX = 'whpk_';
const ED25519_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
// RFC 8410 PKCS#8 wrapping of a raw 32-byte Ed25519 seed: node:crypto imports private keys no other way.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The HMAC key: the base64 after an optional `whsec_` prefix; undefined when that is not base64. */
export function standardWebhooksKey(secret: string): Buffer | undefined {
  return decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
}

function publicKeyFromRaw(raw: Uint8Array): KeyObject | undefined {
  if (raw.byteLength !== ED25519_KEY_BYTES) return undefined;
  try {
    const x = Buffer.from(raw).toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/**
 * A `whsk_` signing key: base64 of the 32-byte Ed25519 seed, as the reference libraries read it
 * (Go: `ed25519.NewKeyFromSeed`) and as the spec's `v1a` test vector is made. The 64-byte
 * seed-then-public-key form (libsodium, Go's `ed25519.PrivateKey`) is accepted too when both halves agree.
 */
function signingKey(secret: string): KeyObject | undefined {
  if (!secret.startsWith(SIGNING_KEY_PREFIX)) return undefined;
  const raw = decodeBase64(secret.slice(SIGNING_KEY_PREFIX.length));
  if (
    raw === undefined ||
    (raw.byteLength !== ED25519_KEY_BYTES && raw.byteLength !== 2 * ED25519_KEY_BYTES)
  ) {
    return undefined;
  }
  const seed = raw.subarray(0, ED25519_KEY_BYTES);
  const key = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  if (raw.byteLength === 2 * ED25519_KEY_BYTES) {
    const derived = createPublicKey(key).export({ format: 'jwk' }).x;
    const given = raw.subarray(ED25519_KEY_BYTES).toString('base64url');
    if (derived !== given) return undefined;
  }
  return key;
}

/**
 * The key that checks `v1a` signatures for a configured secret: a `whpk_` public key (base64 of
 * 32 raw bytes), or the public half of a `whsk_` signing key; undefined for anything else.
 */
function verificationKey(secret: string): KeyObject | undefined {
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) {
    const raw = decodeBase64(secret.slice(PUBLIC_KEY_PREFIX.length));
    return raw === undefined ? undefined : publicKeyFromRaw(raw);
  }
  const key = signingKey(secret);
  return key === undefined ? undefined : createPublicKey(key);
}

/**
 * Keys derived from configured secrets, kept so that a delivery does not decode its source's
 * secrets again (or, for Ed25519, build a KeyObject again). Only configured secrets reach these
 * maps, so they stay as small as the sources file.
 */
const hmacKeys = new Map<string, Buffer | undefined>();
const verificationKeys = new Map<string, KeyObject | undefined>();

function memoized<T>(cache: Map<string, T>, secret: string, derive: (secret: string) => T): T {
  if (cache.has(secret)) return cache.get(secret) as T;
  const value = derive(secret);
  cache.set(secret, value);
  return value;
}

function isAsymmetric(secret: string): boolean {
  return secret.startsWith(PUBLIC_KEY_PREFIX) || secret.startsWith(SIGNING_KEY_PREFIX);
}

/** A Standard Webhooks key pair in its serialised form: `whsk_` for the sender, `whpk_` for receivers. */
export interface StandardWebhooksKeyPair {
  /** base64 of the 32-byte Ed25519 seed after `whsk_`: signs `v1a`, keep it secret. */
  readonly secretKey: string;
  /** base64 of the 32-byte Ed25519 public key after `whpk_`: goes in a source's `secrets`. */
  readonly publicKey: string;
}

export function generateStandardWebhooksKeyPair(): StandardWebhooksKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const { d } = privateKey.export({ format: 'jwk' });
  const { x } = publicKey.export({ format: 'jwk' });
  if (d === undefined || x === undefined) {
    throw new Error('node:crypto exported an Ed25519 key without d or x.');
  }
  return {
    secretKey: `${SIGNING_KEY_PREFIX}${Buffer.from(d, 'base64url').toString('base64')}`,
    publicKey: `${PUBLIC_KEY_PREFIX}${Buffer.from(x, 'base64url').toString('base64')}`,
  };
}

interface SignatureEntries {
  /** HMAC-SHA256 signatures. */
  readonly v1: readonly Buffer[];
  /** Ed25519 signatures. */
  readonly v1a: readonly Buffer[];
}

/**
 * The signatures of a signature header (space separated `version,base64` entries). Unknown versions
 * are skipped; a malformed entry (bad base64, wrong length) can match nothing, so it is dropped.
 */
function parseSignatures(header: string): SignatureEntries {
  const v1: Buffer[] = [];
  const v1a: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const separator = entry.indexOf(',');
    if (separator < 0) continue;
    const version = entry.slice(0, separator);
    if (version !== 'v1' && version !== 'v1a') continue;
    const signature = decodeBase64(entry.slice(separator + 1));
    if (signature === undefined) continue;
    if (version === 'v1') v1.push(signature);
    else if (signature.byteLength === ED25519_SIGNATURE_BYTES) v1a.push(signature);
  }
  return { v1, v1a };
}

function ed25519Verifies(key: KeyObject, content: Buffer, signature: Buffer): boolean {
  try {
    return verifyBytes(null, content, key, signature);
  } catch {
    return false;
  }
}

/**
 * Passes when any configured secret verifies any signature of its kind: `whsec_` (or bare base64)
 * secrets check `v1` HMACs, `whpk_` public keys check `v1a` Ed25519 signatures. `signed` are the parts
 * of `id.timestamp.body`, concatenated only when an Ed25519 check needs them in one buffer.
 */
function assertAnySecretVerifies(
  secrets: readonly string[],
  signatures: SignatureEntries,
  signed: readonly (string | Buffer)[],
): void {
  if (signatures.v1.length === 0 && signatures.v1a.length === 0) {
    throw new SignatureError('invalid_signature', 'The request carries no signature this scheme accepts.');
  }
  let content: Buffer | undefined;
  for (const secret of secrets) {
    if (isAsymmetric(secret)) {
      if (signatures.v1a.length === 0) continue;
      const key = memoized(verificationKeys, secret, verificationKey);
      if (key === undefined) continue;
      content ??= Buffer.concat(signed.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
      for (const signature of signatures.v1a) if (ed25519Verifies(key, content, signature)) return;
    } else {
      if (signatures.v1.length === 0) continue;
      const key = memoized(hmacKeys, secret, standardWebhooksKey);
      if (key === undefined) continue;
      const expected = hmacDigest('sha256', key, signed);
      for (const signature of signatures.v1) if (constantTimeEqual(expected, signature)) return;
    }
  }
  throw new SignatureError('invalid_signature', 'No signature matches the configured secrets.');
}

/** The header names of one Standard Webhooks flavour (the spec's `webhook-*`, Svix's `svix-*`). */
export interface StandardWebhooksSchemeOptions {
  readonly name: string;
  readonly idHeader: string;
  readonly timestampHeader: string;
  readonly signatureHeader: string;
}

/**
 * Standard Webhooks: `v1` HMAC-SHA256 or `v1a` Ed25519 over `id.timestamp.body`, several signatures
 * for rotation. One verifier per set of header names.
 */
export function standardWebhooksScheme({
  name,
  idHeader,
  timestampHeader,
  signatureHeader,
}: StandardWebhooksSchemeOptions) {
  return defineProvider({
    name,
    optionsSchema: z.object({}),
    credentialHeaders: [signatureHeader],
    // The id is part of the signed content, `id.timestamp.body`.
    signsEventId: true,
    signedContent: (request) => ({
      parts: [
        requireHeader(request, idHeader),
        '.',
        requireHeader(request, timestampHeader),
        '.',
        request.rawBody,
      ],
      bodyExact: true,
    }),

    verify(request, source) {
      const id = requireHeader(request, idHeader);
      const timestamp = requireHeader(request, timestampHeader);
      const signatures = parseSignatures(requireHeader(request, signatureHeader));
      const timestampSeconds = parseUnixSeconds(timestamp, `${timestampHeader} header`);
      // The signature is checked before the clock, so timestamp_out_of_tolerance always means authentic but late.
      assertAnySecretVerifies(source.secrets, signatures, [id, '.', timestamp, '.', request.rawBody]);
      assertWithinTolerance(timestampSeconds, request.now, source.toleranceSeconds);
      // The type is informative only, and read from the body when it is stored: parsing it here
      // would cost every delivery a JSON parse that nothing at ingest needs.
      return { eventId: id, eventTypeField: 'type' };
    },

    /** A `whsk_` secret signs `v1a` (Ed25519); anything else is an HMAC secret and signs `v1`. */
    sign(input, _source) {
      const timestamp = formatUnixSeconds(input.timestamp);
      const content = `${input.id}.${timestamp}.${input.body}`;
      let signature: string;
      if (input.secret.startsWith(SIGNING_KEY_PREFIX)) {
        const key = signingKey(input.secret);
        if (key === undefined) {
          throw new TypeError('A whsk_ signing key must be base64 of a 32-byte Ed25519 seed.');
        }
        signature = `v1a,${signBytes(null, Buffer.from(content, 'utf8'), key).toString('base64')}`;
      } else if (input.secret.startsWith(PUBLIC_KEY_PREFIX)) {
        throw new TypeError('A whpk_ public key verifies signatures; signing needs the whsk_ key.');
      } else {
        const key = standardWebhooksKey(input.secret);
        if (key === undefined) {
          throw new TypeError('A Standard Webhooks secret must be base64, optionally after whsec_.');
        }
        signature = `v1,${hmacDigest('sha256', key, [content]).toString('base64')}`;
      }
      return { [idHeader]: input.id, [timestampHeader]: timestamp, [signatureHeader]: signature };
    },
  });
}

export const standardWebhooks = standardWebhooksScheme({
  name: 'standard-webhooks',
  idHeader: 'webhook-id',
  timestampHeader: 'webhook-timestamp',
  signatureHeader: 'webhook-signature',
});
