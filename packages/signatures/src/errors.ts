/** Why a delivery was refused before anything was accepted. Each code maps to one HTTP status in ingest. */
export type SignatureErrorCode =
  | 'missing_signature'
  | 'invalid_signature'
  | 'timestamp_out_of_tolerance'
  | 'invalid_token';

export class SignatureError extends Error {
  override readonly name = 'SignatureError';
  constructor(
    readonly code: SignatureErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The body cannot be read the way the scheme needs (e.g. a JSON body that does not parse). */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  readonly code = 'invalid_payload' as const;
}

/**
 * Verification could not run because something it depends on is away (an issuer's JWKS, the store
 * of used token ids). Not the sender's fault: answered 503 so the sender retries.
 */
export class VerifierUnavailableError extends Error {
  override readonly name = 'VerifierUnavailableError';
  readonly code = 'unavailable' as const;
}
