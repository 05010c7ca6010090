import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decodeHex } from '../encoding.js';
import { PayloadError, SignatureError } from '../errors.js';
import { requireHeader } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';

const SIGNATURE_HEADER = 'paddle-signature';

interface PaddleSignatureHeader {
  readonly timestamp: string;
  readonly signatures: readonly Buffer[];
}

function invalid(message: string): SignatureError {
  return new SignatureError('invalid_signature', message);
}

/** `ts=<unix>;h1=<hex>[;h1=<hex>...]`; unknown keys are skipped, so a header without h1 verifies nothing. */
function parseSignatureHeader(header: string): PaddleSignatureHeader {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const item of header.split(';')) {
    const separator = item.indexOf('=');
    if (separator <= 0) throw invalid(`The ${SIGNATURE_HEADER} header has an item without a key.`);
    const key = item.slice(0, separator).trim();
    const value = item.slice(separator + 1).trim();
    if (key === 'ts') {
      if (timestamp !== undefined) throw invalid(`The ${SIGNATURE_HEADER} header has more than one ts.`);
      timestamp = value;
    } else if (key === 'h1') {
      const signature = decodeHex(value);
      if (signature === undefined) {
        throw invalid(`The ${SIGNATURE_HEADER} header has an h1 value that is not hex.`);
      }
      signatures.push(signature);
    }
  }
  if (timestamp === undefined || timestamp === '') throw invalid(`The ${SIGNATURE_HEADER} header has no ts.`);
  if (signatures.length === 0) throw invalid(`The ${SIGNATURE_HEADER} header has no h1 signature.`);
  return { timestamp, signatures };
}

/**
 * Paddle Billing: HMAC-SHA256 of `ts + ":" + body` keyed with the notification destination's secret;
 * several h1 values while Paddle rotates it. The event id and type come from the (signed) JSON body.
 */
export const paddle = defineProvider({
  name: 'paddle',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],

  verify(request, source) {
    const { timestamp, signatures } = parseSignatureHeader(requireHeader(request, SIGNATURE_HEADER));
    const timestampSeconds = parseUnixSeconds(timestamp, `${SIGNATURE_HEADER} timestamp`);
    // The signature is checked before the clock, so timestamp_out_of_tolerance always means authentic but late.
    assertAnySignatureMatches(source.secrets, signatures, (secret) =>
      hmacDigest('sha256', secret, [timestamp, ':', request.rawBody]),
    );
    assertWithinTolerance(timestampSeconds, request.now, source.toleranceSeconds);

    const payload = parseJson(request.text);
    if (!isJsonObject(payload)) throw new PayloadError('A Paddle event body must be a JSON object.');
    return { eventId: stringField(payload, 'event_id'), eventType: stringField(payload, 'event_type') };
  },

  sign(input, _source) {
    const timestamp = formatUnixSeconds(input.timestamp);
    const digest = hmacDigest('sha256', input.secret, [timestamp, ':', input.body]).toString('hex');
    return { 'Paddle-Signature': `ts=${timestamp};h1=${digest}` };
  },
});
