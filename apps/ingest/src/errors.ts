import type { SignatureErrorCode } from '@inlet/signatures';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type IngestErrorCode =
  | SignatureErrorCode
  | 'invalid_payload'
  | 'bad_request'
  | 'request_timeout'
  | 'headers_too_large'
  | 'ip_not_allowed'
  | 'unknown_source'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal_error';

/** A refusal with a stable code; `app.onError` turns it into the contract's JSON error body. */
export class IngestError extends Error {
  override readonly name = 'IngestError';
  constructor(
    readonly code: IngestErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export function statusFor(code: IngestErrorCode): ContentfulStatusCode {
  switch (code) {
    case 'invalid_payload':
    case 'bad_request':
      return 400;
    case 'missing_signature':
    case 'invalid_signature':
    case 'timestamp_out_of_tolerance':
    case 'invalid_token':
      return 401;
    case 'ip_not_allowed':
      return 403;
    case 'unknown_source':
    case 'not_found':
      return 404;
    case 'method_not_allowed':
      return 405;
    case 'request_timeout':
      return 408;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'headers_too_large':
      return 431;
    case 'rate_limited':
      return 429;
    case 'internal_error':
      return 500;
    case 'unavailable':
      return 503;
    default: {
      const unmapped: never = code;
      throw new Error(`unmapped error code ${String(unmapped)}`);
    }
  }
}

/** The contract's error body, `{"error": {"code", "message"}}`. */
export function errorBody(error: IngestError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message } });
}
