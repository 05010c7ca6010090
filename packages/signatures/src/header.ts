import { SignatureError } from './errors.js';
import type { DeliveryRequest } from './provider.js';

/** Longer credential headers than this are refused unparsed. */
export const MAX_HEADER_LENGTH = 8192;

/**
 * A header the scheme cannot do without: missing_signature when absent or empty,
 * invalid_signature when absurdly long.
 */
export function requireHeader(request: DeliveryRequest, name: string): string {
  const value = request.header(name)?.trim();
  if (value === undefined || value === '') {
    throw new SignatureError('missing_signature', `The ${name} header is missing.`);
  }
  if (value.length > MAX_HEADER_LENGTH) {
    throw new SignatureError('invalid_signature', `The ${name} header is too long.`);
  }
  return value;
}

/** A header that only informs (a delivery id, an event type); empty counts as absent. */
export function optionalHeader(request: DeliveryRequest, name: string): string | undefined {
  const value = request.header(name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}
