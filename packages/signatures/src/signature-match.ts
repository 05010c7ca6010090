import { constantTimeEqual } from './constant-time.js';
import { SignatureError } from './errors.js';

/**
 * Passes when any secret's expected signature equals any signature the request carries:
 * several secrets and several signatures are both how keys are rotated without downtime.
 * `expectedFor` returns undefined for a secret that cannot produce a signature (it never matches).
 */
export function assertAnySignatureMatches(
  secrets: readonly string[],
  candidates: readonly Uint8Array[],
  expectedFor: (secret: string) => Uint8Array | undefined,
): void {
  if (candidates.length === 0) {
    throw new SignatureError('invalid_signature', 'The request carries no signature this scheme accepts.');
  }
  for (const secret of secrets) {
    const expected = expectedFor(secret);
    if (expected === undefined) continue;
    for (const candidate of candidates) {
      if (constantTimeEqual(expected, candidate)) return;
    }
  }
  throw new SignatureError('invalid_signature', 'No signature matches the configured secrets.');
}
