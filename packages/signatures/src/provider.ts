import type { z } from 'zod';

/** What a verifier sees of one delivery. */
export interface DeliveryRequest {
  /** The body exactly as received. */
  readonly rawBody: Buffer;
  /** The body decoded as UTF-8 (ingest refuses bodies that are not). */
  readonly text: string;
  /** Case-insensitive header lookup; undefined when absent. */
  header(name: string): string | undefined;
  /** Current time in milliseconds since the epoch (injected so tests can move the clock). */
  readonly now: number;
}

/** An immediate answer the provider expects instead of an accepted event (Slack, Zoom, Twitch). */
export interface Handshake {
  readonly status: 200;
  readonly contentType: string;
  readonly body: string;
}

export interface Verified {
  /** The provider's own delivery id, when the scheme has one. */
  readonly eventId?: string | undefined;
  /** The provider's event type (Stripe `type`, GitHub `X-GitHub-Event`, ...). */
  readonly eventType?: string | undefined;
  /**
   * Instead of `eventType`: the top-level field of a JSON body that holds the event type, for
   * schemes that have no other reason to parse the body at ingest. It is read where the body is
   * parsed anyway: by the database, as it stores the payload.
   */
  readonly eventTypeField?: string | undefined;
  /** Set when the delivery is a verification handshake: answer it, never enqueue it. */
  readonly handshake?: Handshake | undefined;
}

/** What a signature covers of a delivery, for telling a replay from a new event. */
export interface SignedContent {
  /**
   * The parts of the signed content, in order (a signed timestamp and id included; constants of the
   * source, such as a configured URL, left out): a replay must repeat them all.
   */
  readonly parts: readonly (string | Uint8Array)[];
  /**
   * True when the body's exact bytes are signed. False when an equivalent of it is (Twilio signs form
   * parameters, whatever their order or encoding): an id read from the raw body is then not bound.
   */
  readonly bodyExact: boolean;
}

/**
 * Common source options every verifier may read. A type alias rather than an interface so that a
 * provider's own options still fit the `Record`-like source of the default `Provider`.
 */
export type BaseSourceOptions = {
  /** Secrets, already resolved from `env:NAME`; any one verifying is enough. */
  readonly secrets: readonly string[];
  readonly toleranceSeconds: number;
};

/**
 * A source as a provider's `verify` and `sign` receive it: the common options plus the provider's own,
 * parsed by its `optionsSchema`. (zod infers `Record<string, never>` for an empty shape, which would
 * erase the common options, hence the special case.)
 */
export type SourceOptions<Shape extends z.ZodRawShape = z.ZodRawShape> = BaseSourceOptions &
  ([keyof Shape] extends [never] ? object : z.infer<z.ZodObject<Shape>>);

export interface SignInput {
  readonly body: string;
  /**
   * What to sign with: an HMAC secret, a Standard Webhooks `whsk_` signing key, or for `jwt` a
   * private key (PEM or JWK JSON).
   */
  readonly secret: string;
  /** Seconds since the epoch for schemes that sign a timestamp. */
  readonly timestamp: number;
  /** Delivery id for schemes that carry one in a header. */
  readonly id: string;
}

/**
 * Remembers single-use values (a JWT's `jti`) across every ingest instance. `claim` answers true
 * the first time it sees `key` and false while it is remembered (`ttlSeconds`).
 */
export interface NonceStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
}

/** What a verifier may use besides the request and the source's options. */
export interface VerifyContext {
  /** The source's name, for namespacing what the verifier remembers. */
  readonly sourceName: string;
  readonly nonces: NonceStore;
}

/**
 * One signature scheme. `source` holds the common options and the provider's own fields,
 * validated by `optionsSchema`; `verify` throws SignatureError or PayloadError, never anything else for bad input.
 */
export interface Provider<Shape extends z.ZodRawShape = z.ZodRawShape> {
  readonly name: string;
  /** The provider's own fields of a source entry (e.g. `header` for `hmac`); an empty object if none. */
  readonly optionsSchema: z.ZodObject<Shape>;
  /** Headers that carry credentials or signatures: never stored, never logged. */
  readonly credentialHeaders: readonly string[];
  /**
   * A test body shaped as the provider sends it, for `inlet send` without `--data`: only needed
   * where the scheme reads something from the body (Linear's signed timestamp).
   */
  exampleBody?(input: { readonly timestamp: number }): string;
  /** False for schemes that need no shared secret (`jwt`); then `secrets` may be empty. Default true. */
  readonly usesSecrets?: boolean;
  /**
   * Whether the signature covers the event id `verify` returns (Stripe's body `id`, Standard
   * Webhooks' `webhook-id`). False where the id travels beside what is signed (GitHub's
   * `X-GitHub-Delivery`): a captured body and signature then verify under any delivery id.
   */
  readonly signsEventId: boolean;
  /**
   * What the signature of a delivery that `verify` accepted covers; undefined when it does not cover
   * the body. Only asked for deliveries whose event id is not signed, so it costs the others nothing.
   */
  signedContent(request: DeliveryRequest, source: SourceOptions<Shape>): SignedContent | undefined;
  verify(
    request: DeliveryRequest,
    source: SourceOptions<Shape>,
    context: VerifyContext,
  ): Verified | Promise<Verified>;
  /** Headers that make `input.body` verify for this source (used by `inlet send` and tests). */
  sign(
    input: SignInput,
    source: SourceOptions<Shape>,
  ): Record<string, string> | Promise<Record<string, string>>;
}

/**
 * Checks a provider against the interface while keeping its own, narrower types (a `sign` that is
 * synchronous stays synchronous for callers that use the provider directly).
 */
export function defineProvider<Shape extends z.ZodRawShape, const P extends Provider<Shape>>(
  provider: P & { readonly optionsSchema: z.ZodObject<Shape> },
): P {
  return provider;
}
