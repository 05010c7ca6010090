import { timingSafeEqual } from 'node:crypto';

function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/**
 * Compares two values in time independent of where they differ. A length mismatch returns false
 * at once: the lengths compared here (digest sizes) are public, the contents are not.
 */
export function constantTimeEqual(a: Uint8Array | string, b: Uint8Array | string): boolean {
  const left = toBytes(a);
  const right = toBytes(b);
  if (left.byteLength !== right.byteLength) return false;
  return timingSafeEqual(left, right);
}
