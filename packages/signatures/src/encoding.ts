const HEX = /^(?:[0-9a-fA-F]{2})*$/;
// Standard alphabet; padding optional, but when present it must be right.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

export type SignatureEncoding = 'hex' | 'base64';

/** Strict hex decoding: undefined for odd lengths or foreign characters (Buffer.from would silently truncate). */
export function decodeHex(value: string): Buffer | undefined {
  return value.length > 0 && HEX.test(value) ? Buffer.from(value, 'hex') : undefined;
}

/** Strict base64 decoding: undefined for characters outside the alphabet or misplaced padding. */
export function decodeBase64(value: string): Buffer | undefined {
  return value.length > 0 && BASE64.test(value) ? Buffer.from(value, 'base64') : undefined;
}

export function decode(value: string, encoding: SignatureEncoding): Buffer | undefined {
  return encoding === 'hex' ? decodeHex(value) : decodeBase64(value);
}
