import { decodeHex } from './encoding.js';
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

/**
 * A required header carrying `<prefix><hex signature>` (GitHub `sha256=`, Slack and Zoom `v0=`):
 * the decoded signature, or invalid_signature when the prefix or the hex is wrong.
 */
export function requirePrefixedHexSignature(request: DeliveryRequest, name: string, prefix: string): Buffer {
  const header = requireHeader(request, name);
  if (!header.startsWith(prefix)) {
    throw new SignatureError('invalid_signature', `The ${name} header does not start with ${prefix}`);
  }
  const signature = decodeHex(header.slice(prefix.length));
  if (signature === undefined)
    throw new SignatureError('invalid_signature', `The ${name} header is not hex.`);
  return signature;
}
