import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type DashboardErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'unavailable'
  | 'internal_error';

/** A refusal with a stable code; `app.onError` turns it into `{"error": {"code", "message"}}`. */
export class DashboardError extends Error {
  override readonly name = 'DashboardError';
  constructor(
    readonly code: DashboardErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export function statusFor(code: DashboardErrorCode): ContentfulStatusCode {
  switch (code) {
    case 'invalid_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
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
