import {
  decodeProtectedHeader,
  errors,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
  SignJWT,
} from 'jose';
import { z } from 'zod';
import { SignatureError, VerifierUnavailableError } from '../errors.js';
import { MAX_HEADER_LENGTH } from '../header.js';
import { type DeliveryRequest, defineProvider, type VerifyContext } from '../provider.js';
import {
  bodyHashClaimValue,
  bodyHashMatches,
  claimNameSchema,
  requiredClaimsSchema,
  unmetClaim,
} from './jwt-claims.js';
import {
  createRemoteKeyResolver,
  DEFAULT_JWT_ALGORITHMS,
  isJwtAlgorithm,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  publicKeySchema,
  selectLocalKeys,
  toVerificationJwk,
} from './jwt-keys.js';
import { importSigningKey } from './jwt-signing-key.js';

const DEFAULT_HEADER = 'authorization';
/** Lifetime of the tokens `sign` issues. */
const SIGNED_TOKEN_LIFETIME_SECONDS = 300;

// An HTTP field name (RFC 9110 token).
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');

/**
 * Exactly one of `jwksUrl` and `publicKeys`: the message for a source that breaks the rule, else
 * undefined. The object-level refinement below is lost when the config merges shapes, so the
 * config (and `verify`/`sign`) call this too.
 */
export function validateJwtOptions(options: {
  readonly jwksUrl?: unknown;
  readonly publicKeys?: unknown;
}): string | undefined {
  const hasUrl = options.jwksUrl !== undefined;
  const hasKeys = options.publicKeys !== undefined;
  if (hasUrl && hasKeys) return 'takes either jwksUrl or publicKeys, not both';
  if (!hasUrl && !hasKeys) return "needs jwksUrl (the issuer's JWKS) or publicKeys";
  return undefined;
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts whose JWKS may come over plain HTTP. */
function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  // The URL parser has already normalised IPv4 forms such as 127.1 or 0x7f.0.0.1.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The longest `maxTokenAgeSeconds` a source may set: a week. */
const MAX_TOKEN_AGE_LIMIT_SECONDS = 7 * 24 * 3600;

export const jwtOptionsSchema = z
  .object({
    /**
     * Where the issuer publishes its public keys; fetched on first use, cached, refetched on an
     * unknown `kid`. HTTPS only: whoever could alter a plain-HTTP answer could sign tokens.
     */
    jwksUrl: z
      .url({ protocol: /^https?$/, error: 'must be an https URL' })
      .refine(
        (value) => {
          const url = new URL(value);
          return url.protocol === 'https:' || isLoopbackHost(url.hostname);
        },
        { error: 'must be an https URL (plain http only on a loopback address: 127.0.0.1, ::1, localhost)' },
      )
      .optional(),
    /** The issuer's public keys, when it publishes no JWKS: PEM SPKI text or public JWK objects. */
    publicKeys: z.array(publicKeySchema).min(1, 'needs at least one public key').optional(),
    issuer: z.string().min(1, 'cannot be empty'),
    /** Accepted when the token's `aud` holds it (or any of them). `sign` uses the first. */
    audience: z.union(
      [
        z.string().min(1, 'cannot be empty'),
        z.array(z.string().min(1, 'cannot be empty')).min(1, 'needs at least one audience'),
      ],
      {
        error: 'must be a non-empty string or a non-empty list of strings',
      },
    ),
    algorithms: z
      .array(
        z.enum(JWT_ALGORITHMS, {
          error: `must be one of ${JWT_ALGORITHMS.join(', ')} (asymmetric only: never none or HS*)`,
        }),
      )
      .min(1, 'needs at least one algorithm')
      .default(() => [...DEFAULT_JWT_ALGORITHMS]),
    /** `Authorization` carries `Bearer <token>`; a custom header carries the token, bare or after `Bearer `. */
    header: headerName.default(DEFAULT_HEADER),
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    /** Tokens issued (`iat`) longer ago than this are refused, whatever their `exp`; `iat` is then required. */
    maxTokenAgeSeconds: z.number().int().min(1).max(MAX_TOKEN_AGE_LIMIT_SECONDS).default(3600),
    requiredClaims: requiredClaimsSchema.optional(),
    /** Each token id (`jti`) is accepted once, across every ingest instance, until the token expires. */
    requireJti: z.boolean().default(false),
    /** A claim holding the SHA-256 of the raw body (base64url or hex), binding the token to this delivery. */
    bodyHashClaim: claimNameSchema.optional(),
    /** How long a JWKS fetch may take before the delivery is refused. */
    jwksTimeoutMs: z.number().int().min(100).max(30_000).default(3000),
  })
  .superRefine((options, context) => {
    const problem = validateJwtOptions(options);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  });

export type JwtOptions = z.infer<typeof jwtOptionsSchema>;

function invalidToken(message: string): SignatureError {
  return new SignatureError('invalid_token', message);
}

type KeySource =
  | { readonly kind: 'remote'; readonly resolver: JWTVerifyGetKey }
  | { readonly kind: 'local'; readonly keys: readonly JWK[] };

// Per source options object (ingest passes the same one for every delivery): the JWKS cache lives
// as long as the source does, and keys are imported once.
const keySources = new WeakMap<object, KeySource>();

function assertValidOptions(source: JwtOptions): void {
  const problem = validateJwtOptions(source);
  if (problem !== undefined) throw new TypeError(`jwt source ${problem}.`);
}

function keySourceFor(source: JwtOptions): KeySource {
  const cached = keySources.get(source);
  if (cached !== undefined) return cached;
  assertValidOptions(source);
  const created: KeySource =
    source.jwksUrl !== undefined
      ? {
          kind: 'remote',
          resolver: createRemoteKeyResolver(source.jwksUrl, { timeoutMs: source.jwksTimeoutMs }),
        }
      : { kind: 'local', keys: (source.publicKeys ?? []).map(toVerificationJwk) };
  keySources.set(source, created);
  return created;
}

const BEARER = /^Bearer +(\S+)$/i;
// A signed compact JWS: header, payload and signature, each non-empty base64url (so `alg: none` with
// its empty signature is refused here already).
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function readToken(request: DeliveryRequest, name: string): string {
  const value = request.header(name)?.trim();
  if (value === undefined || value === '') {
    throw new SignatureError('missing_signature', `The ${name} header is missing.`);
  }
  if (value.length > MAX_HEADER_LENGTH) throw invalidToken(`The ${name} header is too long.`);
  const bearer = BEARER.exec(value)?.[1];
  const mustBeBearer = name.toLowerCase() === DEFAULT_HEADER || /^bearer(?:\s|$)/i.test(value);
  if (bearer === undefined && mustBeBearer)
    throw invalidToken(`The ${name} header must be "Bearer <token>".`);
  const token = bearer ?? value;
  if (!TOKEN_SHAPE.test(token)) throw invalidToken('The token is not a signed JWT.');
  return token;
}

function tokenHeader(
  token: string,
  algorithms: readonly JwtAlgorithm[],
): { alg: JwtAlgorithm; kid?: string } {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalidToken('The token header is not valid JSON.');
  }
  const { alg, kid } = header;
  if (!isJwtAlgorithm(alg) || !algorithms.includes(alg)) {
    // Echo the name only when it looks like one: the message goes back to whoever sent the token.
    const shown = typeof alg === 'string' && /^[A-Za-z0-9+-]{1,16}$/.test(alg) ? ` ${alg}` : '';
    throw invalidToken(`The token algorithm${shown} is not allowed for this source.`);
  }
  if (kid !== undefined && typeof kid !== 'string') throw invalidToken('The token kid is not a string.');
  return kid === undefined ? { alg } : { alg, kid };
}

async function verifyWithLocalKeys(
  token: string,
  keys: readonly JWK[],
  header: { alg: JwtAlgorithm; kid?: string },
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  const candidates = selectLocalKeys(keys, header, header.alg);
  if (candidates.length === 0) throw invalidToken('No configured key fits the token (kid and alg).');
  let failure: unknown;
  // Several keys may fit (rotation, keys without kid): the first whose signature verifies wins.
  for (const key of candidates) {
    try {
      return (await jwtVerify(token, key, options)).payload;
    } catch (error) {
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) throw error;
      failure = error;
    }
  }
  throw failure;
}

async function verifyWithResolver(
  token: string,
  resolver: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, resolver, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** One invalid_token per way a token fails (the message names the reason, never a key); an unreachable JWKS stays "unavailable". */
function tokenError(error: unknown): SignatureError | VerifierUnavailableError {
  if (error instanceof SignatureError || error instanceof VerifierUnavailableError) return error;
  if (error instanceof errors.JWTExpired) {
    return invalidToken(
      error.claim === 'iat'
        ? 'The token was issued too long ago (iat is older than maxTokenAgeSeconds).'
        : 'The token has expired.',
    );
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalidToken(`The token has no ${error.claim} claim.`);
    if (error.claim === 'nbf') return invalidToken('The token is not valid yet (nbf).');
    if (error.claim === 'iat' && error.reason === 'check_failed') {
      return invalidToken('The token was issued in the future (iat).');
    }
    return invalidToken(`The token ${error.claim} claim is not accepted.`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalidToken('The token signature does not verify.');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalidToken('The token algorithm is not allowed.');
  if (error instanceof errors.JWKSNoMatchingKey)
    return invalidToken('No signing key matches the token (kid and alg).');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return invalidToken('The token is malformed.');
  }
  return invalidToken('The token cannot be verified.');
}

function eventTypeOf(payload: JWTPayload): string | undefined {
  if (typeof payload.event_type === 'string') return payload.event_type;
  return typeof payload.type === 'string' ? payload.type : undefined;
}

async function claimTokenId(
  context: VerifyContext,
  payload: JWTPayload,
  nowMs: number,
  toleranceSeconds: number,
  maxTokenAgeSeconds: number,
): Promise<void> {
  const { jti, iss, exp, iat } = payload;
  if (jti === undefined || jti === '') throw invalidToken('The token has no jti claim.');
  if (exp === undefined) throw invalidToken('The token has no exp claim.');
  if (iat === undefined) throw invalidToken('The token has no iat claim.');
  // Remembered for as long as the token could still be accepted: until it expires or grows too old.
  const lastAccepted = Math.min(exp, iat + maxTokenAgeSeconds);
  const ttlSeconds = Math.max(1, Math.ceil(lastAccepted - nowMs / 1000) + toleranceSeconds);
  if (!(await context.nonces.claim(`${context.sourceName}:${iss ?? ''}:${jti}`, ttlSeconds))) {
    throw invalidToken('The token has already been used (jti).');
  }
}

/**
 * JWT bearer: a partner signs a short-lived token (asymmetric algorithms only) instead of the body.
 * `exp`, `iat`, `iss` and `aud` are required, `nbf` enforced when present, and a token older than
 * `maxTokenAgeSeconds` refused; `bodyHashClaim` binds the token to the body and `requireJti` makes
 * it single-use. The event id is the token's `jti`.
 */
export const jwt = defineProvider({
  name: 'jwt',
  optionsSchema: jwtOptionsSchema,
  // The default credential; a source that configures another `header` carries its token there, and
  // whoever strips credentials from stored or logged headers must drop `source.header` too.
  credentialHeaders: [DEFAULT_HEADER],
  // The token id (jti) is a claim of the signed token.
  signsEventId: true,
  // The token stands apart from the body, which it binds only through bodyHashClaim.
  signedContent: (request, source) =>
    source.bodyHashClaim === undefined ? undefined : { parts: [request.rawBody], bodyExact: true },
  usesSecrets: false,

  async verify(request, source, context) {
    const keys = keySourceFor(source);
    const token = readToken(request, source.header);
    const header = tokenHeader(token, source.algorithms);
    const tolerance = source.clockToleranceSeconds;
    const options: JWTVerifyOptions = {
      algorithms: [...source.algorithms],
      issuer: source.issuer,
      audience: typeof source.audience === 'string' ? source.audience : [...source.audience],
      clockTolerance: tolerance,
      currentDate: new Date(request.now),
      // maxTokenAge makes jose require iat too: a token that does not say when it was issued
      // cannot be shown to be young enough.
      maxTokenAge: source.maxTokenAgeSeconds,
      requiredClaims: ['exp'],
    };

    let payload: JWTPayload;
    try {
      payload =
        keys.kind === 'remote'
          ? await verifyWithResolver(token, keys.resolver, options)
          : await verifyWithLocalKeys(token, keys.keys, header, options);
    } catch (error) {
      throw tokenError(error);
    }

    if (payload.jti !== undefined && typeof payload.jti !== 'string') {
      throw invalidToken('The token jti claim is not a string.');
    }
    const unmet =
      source.requiredClaims === undefined ? undefined : unmetClaim(payload, source.requiredClaims);
    if (unmet !== undefined) throw invalidToken(`The token ${unmet} claim does not have the required value.`);
    if (
      source.bodyHashClaim !== undefined &&
      !bodyHashMatches(payload[source.bodyHashClaim], request.rawBody)
    ) {
      throw invalidToken(`The token ${source.bodyHashClaim} claim does not match the body.`);
    }
    // Last, so a token refused for any other reason does not use up its id.
    if (source.requireJti) {
      await claimTokenId(context, payload, request.now, tolerance, source.maxTokenAgeSeconds);
    }

    return { eventId: payload.jti, eventType: eventTypeOf(payload) };
  },

  async sign(input, source) {
    assertValidOptions(source);
    const { key, alg, kid } = await importSigningKey(input.secret, source.algorithms);
    const claims: JWTPayload = {};
    for (const [name, value] of Object.entries(source.requiredClaims ?? {})) {
      claims[name] = Array.isArray(value) ? [...value] : value;
    }
    if (source.bodyHashClaim !== undefined) claims[source.bodyHashClaim] = bodyHashClaimValue(input.body);
    const audience = typeof source.audience === 'string' ? source.audience : source.audience[0];
    if (audience === undefined) throw new TypeError('jwt source needs an audience.');

    const token = await new SignJWT(claims)
      .setProtectedHeader(kid === undefined ? { alg, typ: 'JWT' } : { alg, kid, typ: 'JWT' })
      .setIssuer(source.issuer)
      .setAudience(audience)
      .setIssuedAt(input.timestamp)
      .setExpirationTime(input.timestamp + SIGNED_TOKEN_LIFETIME_SECONDS)
      .setJti(input.id)
      .sign(key);
    const name = source.header.toLowerCase() === DEFAULT_HEADER ? 'Authorization' : source.header;
    return { [name]: `Bearer ${token}` };
  },
});
