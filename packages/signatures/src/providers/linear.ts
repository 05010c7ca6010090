import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decodeHex } from '../encoding.js';
import { PayloadError, SignatureError } from '../errors.js';
import { optionalHeader, requireHeader } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance } from '../timestamp.js';

const SIGNATURE_HEADER = 'linear-signature';

/** `type.action` (`Issue.create`), or the type alone. */
function bodyEventType(payload: Record<string, unknown>): string | undefined {
  const type = stringField(payload, 'type');
  const action = stringField(payload, 'action');
  return type !== undefined && action !== undefined ? `${type}.${action}` : type;
}

/**
 * Linear: `Linear-Signature: <hex HMAC-SHA256(secret, body)>`. The timestamp is inside the signed
 * body (`webhookTimestamp`, unix milliseconds), so it is checked once the signature has passed.
 */
export const linear = defineProvider({
  name: 'linear',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],
  // Linear-Delivery is not signed: only the body, with its webhookTimestamp, is.
  signsEventId: false,
  signedContent: (request) => ({ parts: [request.rawBody], bodyExact: true }),

  exampleBody({ timestamp }) {
    return JSON.stringify({
      action: 'create',
      type: 'Issue',
      data: { id: 'inlet-test-issue', title: 'Hello from inlet send' },
      webhookTimestamp: timestamp * 1000,
    });
  },

  verify(request, source) {
    const signature = decodeHex(requireHeader(request, SIGNATURE_HEADER));
    if (signature === undefined) {
      throw new SignatureError('invalid_signature', `The ${SIGNATURE_HEADER} header is not hex.`);
    }
    assertAnySignatureMatches(source.secrets, [signature], (secret) =>
      hmacDigest('sha256', secret, [request.rawBody]),
    );

    const payload = parseJson(request.text);
    if (!isJsonObject(payload)) throw new PayloadError('A Linear webhook body must be a JSON object.');
    const timestampMs = payload.webhookTimestamp;
    if (typeof timestampMs !== 'number' || !Number.isSafeInteger(timestampMs) || timestampMs < 0) {
      // Signed by Linear yet without its timestamp: the body, not the signature, is what is wrong.
      throw new PayloadError('A Linear webhook body must carry webhookTimestamp in unix milliseconds.');
    }
    assertWithinTolerance(Math.floor(timestampMs / 1000), request.now, source.toleranceSeconds);
    return {
      eventId: optionalHeader(request, 'linear-delivery'),
      eventType: optionalHeader(request, 'linear-event') ?? bodyEventType(payload),
    };
  },

  sign(input, _source) {
    // The timestamp lives in the body, which is the caller's: only the body is signed here.
    return {
      'Linear-Signature': hmacDigest('sha256', input.secret, [input.body]).toString('hex'),
      'Linear-Delivery': input.id,
      'Linear-Event': 'Issue',
    };
  },
});
