import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decodeBase64 } from '../encoding.js';
import { PayloadError, SignatureError } from '../errors.js';
import { requireHeader } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { webhookUrlSchema } from '../webhook-url.js';

const SIGNATURE_HEADER = 'x-square-hmacsha256-signature';

export const squareOptionsSchema = z.object({
  /** The notification URL exactly as configured in the Square subscription: it is part of what is signed. */
  url: webhookUrlSchema,
});

export type SquareOptions = z.infer<typeof squareOptionsSchema>;

/**
 * Square: `x-square-hmacsha256-signature: <base64 HMAC-SHA256(signature key, notification URL + body)>`.
 * No timestamp is signed; the event id and type come from the (signed) JSON body.
 */
export const square = defineProvider({
  name: 'square',
  optionsSchema: squareOptionsSchema,
  // x-square-signature is the legacy SHA-1 signature: never accepted, never stored.
  credentialHeaders: [SIGNATURE_HEADER, 'x-square-signature'],
  // The event id is read from the signed body; the configured URL is the same for every delivery.
  signsEventId: true,
  signedContent: (request) => ({ parts: [request.rawBody], bodyExact: true }),

  verify(request, source) {
    const signature = decodeBase64(requireHeader(request, SIGNATURE_HEADER));
    if (signature === undefined) {
      throw new SignatureError('invalid_signature', `The ${SIGNATURE_HEADER} header is not base64.`);
    }
    assertAnySignatureMatches(source.secrets, [signature], (secret) =>
      hmacDigest('sha256', secret, [source.url, request.rawBody]),
    );

    const payload = parseJson(request.text);
    if (!isJsonObject(payload)) throw new PayloadError('A Square event body must be a JSON object.');
    return { eventId: stringField(payload, 'event_id'), eventType: stringField(payload, 'type') };
  },

  sign(input, source) {
    const digest = hmacDigest('sha256', input.secret, [source.url, input.body]).toString('base64');
    return { 'x-square-hmacsha256-signature': digest };
  },
});
