import { decodeHex } from './encoding.js';
import { SignatureError } from './errors.js';

export interface TimestampedSignatureFormat {
  /** The header's name, for messages. */
  readonly header: string;
  /** Between items: `,` for Stripe, `;` for Paddle. */
  readonly itemSeparator: string;
  /** The key of the signed timestamp: `t`, `ts`. */
  readonly timestampKey: string;
  /** The key of a hex signature in the current scheme: `v1`, `h1`; other keys are skipped. */
  readonly signatureKey: string;
}

export interface TimestampedSignatures {
  readonly timestamp: string;
  readonly signatures: readonly Buffer[];
}

/**
 * Parses headers shaped `t=<unix>,v1=<hex>[,v1=<hex>...]` (Stripe) or `ts=<unix>;h1=<hex>...`
 * (Paddle): one timestamp, any number of signatures (rotation). Keys of other schemes (Stripe's
 * `v0`) are skipped, so a header carrying only those verifies nothing.
 */
export function parseTimestampedSignatures(
  value: string,
  format: TimestampedSignatureFormat,
): TimestampedSignatures {
  const invalid = (message: string) =>
    new SignatureError('invalid_signature', `The ${format.header} header ${message}.`);
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const item of value.split(format.itemSeparator)) {
    const separator = item.indexOf('=');
    if (separator <= 0) throw invalid('has an item without a key');
    const key = item.slice(0, separator).trim();
    const field = item.slice(separator + 1).trim();
    if (key === format.timestampKey) {
      if (timestamp !== undefined) throw invalid(`has more than one ${format.timestampKey}`);
      timestamp = field;
    } else if (key === format.signatureKey) {
      const signature = decodeHex(field);
      if (signature === undefined) throw invalid(`has a ${format.signatureKey} value that is not hex`);
      signatures.push(signature);
    }
  }
  if (timestamp === undefined || timestamp === '') throw invalid(`has no ${format.timestampKey}`);
  if (signatures.length === 0) throw invalid(`has no ${format.signatureKey} signature`);
  return { timestamp, signatures };
}
