import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { PayloadError } from '../errors.js';
import { requireHeader } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';
import { parseTimestampedSignatures } from '../timestamped-signature-header.js';

const SIGNATURE_HEADER = 'paddle-signature';

const HEADER_FORMAT = {
  header: SIGNATURE_HEADER,
  itemSeparator: ';',
  timestampKey: 'ts',
  signatureKey: 'h1',
} as const;

/**
 * Paddle Billing: HMAC-SHA256 of `ts + ":" + body` keyed with the notification destination's secret;
 * several h1 values while Paddle rotates it. The event id and type come from the (signed) JSON body.
 */
export const paddle = defineProvider({
  name: 'paddle',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],
  // The event id is read from the signed body.
  signsEventId: true,
  signedContent(request) {
    const { timestamp } = parseTimestampedSignatures(requireHeader(request, SIGNATURE_HEADER), HEADER_FORMAT);
    return { parts: [timestamp, ':', request.rawBody], bodyExact: true };
  },

  verify(request, source) {
    const { timestamp, signatures } = parseTimestampedSignatures(
      requireHeader(request, SIGNATURE_HEADER),
      HEADER_FORMAT,
    );
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
