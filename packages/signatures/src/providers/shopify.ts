import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decodeBase64 } from '../encoding.js';
import { SignatureError } from '../errors.js';
import { optionalHeader, requireHeader } from '../header.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';

const SIGNATURE_HEADER = 'x-shopify-hmac-sha256';

/** Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`; no timestamp is signed. */
export const shopify = defineProvider({
  name: 'shopify',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],
  // X-Shopify-Webhook-Id is not signed: only the body is.
  signsEventId: false,
  signedContent: (request) => ({ parts: [request.rawBody], bodyExact: true }),

  verify(request, source) {
    const signature = decodeBase64(requireHeader(request, SIGNATURE_HEADER));
    if (signature === undefined) {
      throw new SignatureError('invalid_signature', `The ${SIGNATURE_HEADER} header is not base64.`);
    }
    assertAnySignatureMatches(source.secrets, [signature], (secret) =>
      hmacDigest('sha256', secret, [request.rawBody]),
    );
    return {
      // The webhook id names the delivery and survives retries; the event id is the next best key.
      eventId:
        optionalHeader(request, 'x-shopify-webhook-id') ?? optionalHeader(request, 'x-shopify-event-id'),
      eventType: optionalHeader(request, 'x-shopify-topic'),
    };
  },

  sign(input, _source) {
    return {
      'X-Shopify-Hmac-Sha256': hmacDigest('sha256', input.secret, [input.body]).toString('base64'),
      'X-Shopify-Webhook-Id': input.id,
      'X-Shopify-Topic': 'inlet/test',
    };
  },
});
