import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decodeHex } from '../encoding.js';
import { PayloadError, SignatureError } from '../errors.js';
import { requireHeader } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';

const SIGNATURE_HEADER = 'stripe-signature';

interface StripeSignatureHeader {
  readonly timestamp: string;
  readonly signatures: readonly Buffer[];
}

function invalid(message: string): SignatureError {
  return new SignatureError('invalid_signature', message);
}

/** `t=<ts>,v1=<hex>[,v1=<hex>...]`; v0 and unknown schemes are skipped, so v0 alone verifies nothing. */
function parseSignatureHeader(header: string): StripeSignatureHeader {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    const separator = item.indexOf('=');
    if (separator <= 0) throw invalid(`The ${SIGNATURE_HEADER} header has an item without a key.`);
    const key = item.slice(0, separator).trim();
    const value = item.slice(separator + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined) throw invalid(`The ${SIGNATURE_HEADER} header has more than one t.`);
      timestamp = value;
    } else if (key === 'v1') {
      const signature = decodeHex(value);
      if (signature === undefined)
        throw invalid(`The ${SIGNATURE_HEADER} header has a v1 value that is not hex.`);
      signatures.push(signature);
    }
  }
  if (timestamp === undefined || timestamp === '') throw invalid(`The ${SIGNATURE_HEADER} header has no t.`);
  if (signatures.length === 0) throw invalid(`The ${SIGNATURE_HEADER} header has no v1 signature.`);
  return { timestamp, signatures };
}

/**
 * Stripe: HMAC-SHA256 keyed with the whole `whsec_...` string over `t + "." + body`.
 * The event id and type come from the (signed) JSON body.
 */
export const stripe = defineProvider({
  name: 'stripe',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],

  verify(request, source) {
    const { timestamp, signatures } = parseSignatureHeader(requireHeader(request, SIGNATURE_HEADER));
    const timestampSeconds = parseUnixSeconds(timestamp, `${SIGNATURE_HEADER} timestamp`);
    // The signature is checked before the clock, so timestamp_out_of_tolerance always means authentic but late.
    assertAnySignatureMatches(source.secrets, signatures, (secret) =>
      hmacDigest('sha256', secret, [timestamp, '.', request.rawBody]),
    );
    assertWithinTolerance(timestampSeconds, request.now, source.toleranceSeconds);

    const payload = parseJson(request.text);
    if (!isJsonObject(payload)) throw new PayloadError('A Stripe event body must be a JSON object.');
    return { eventId: stringField(payload, 'id'), eventType: stringField(payload, 'type') };
  },

  sign(input, _source) {
    const timestamp = formatUnixSeconds(input.timestamp);
    const digest = hmacDigest('sha256', input.secret, [timestamp, '.', input.body]).toString('hex');
    return { 'Stripe-Signature': `t=${timestamp},v1=${digest}` };
  },
});
