import { SignatureError } from './errors.js';

// Unix seconds have 10 digits until the year 2286; 12 leaves room without admitting nonsense.
const UNIX_SECONDS = /^\d{1,12}$/;

/** Parses a unix-seconds timestamp strictly: digits only, no sign, no fraction, no exponent. */
export function parseUnixSeconds(value: string | undefined, label: string): number {
  if (value === undefined || value === '') {
    throw new SignatureError('missing_signature', `The ${label} is missing.`);
  }
  if (!UNIX_SECONDS.test(value)) {
    throw new SignatureError('invalid_signature', `The ${label} is not a unix timestamp in seconds.`);
  }
  return Number(value);
}

/** Refuses timestamps older or further in the future than the tolerance: both mean a replay or a broken clock. */
export function assertWithinTolerance(
  timestampSeconds: number,
  nowMs: number,
  toleranceSeconds: number,
): void {
  const nowSeconds = Math.floor(nowMs / 1000);
  if (timestampSeconds < nowSeconds - toleranceSeconds) {
    throw new SignatureError('timestamp_out_of_tolerance', 'The signed timestamp is too old.');
  }
  if (timestampSeconds > nowSeconds + toleranceSeconds) {
    throw new SignatureError('timestamp_out_of_tolerance', 'The signed timestamp is too far in the future.');
  }
}

/** Formats a timestamp for signing; refuses anything `parseUnixSeconds` would refuse. */
export function formatUnixSeconds(timestampSeconds: number): string {
  const text = String(timestampSeconds);
  if (!Number.isSafeInteger(timestampSeconds) || !UNIX_SECONDS.test(text)) {
    throw new RangeError(`Timestamp ${text} is not a non-negative integer number of seconds.`);
  }
  return text;
}
