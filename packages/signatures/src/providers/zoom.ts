import { z } from 'zod';
import { constantTimeEqual } from '../constant-time.js';
import { hmacDigest } from '../digest.js';
import { PayloadError, SignatureError } from '../errors.js';
import { requireHeader, requirePrefixedHexSignature } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';

const SIGNATURE_HEADER = 'x-zm-signature';
// Unix seconds (the body's `event_ts` is in milliseconds, this header is not).
const TIMESTAMP_HEADER = 'x-zm-request-timestamp';
const PREFIX = 'v0=';
const URL_VALIDATION = 'endpoint.url_validation';

/** The configured secret whose `v0` HMAC equals the signature: the handshake answer is keyed with it. */
function verifyingSecret(
  secrets: readonly string[],
  signature: Uint8Array,
  expectedFor: (secret: string) => Uint8Array,
): string {
  for (const secret of secrets) {
    if (constantTimeEqual(expectedFor(secret), signature)) return secret;
  }
  throw new SignatureError('invalid_signature', 'No signature matches the configured secrets.');
}

/**
 * Zoom: `x-zm-signature: v0=<hex HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)>`. Zoom has no
 * delivery id, so the event id falls back to the body's hash. An `endpoint.url_validation` request is
 * answered, once its signature verified, with the plain token and its HMAC under the same secret.
 */
export const zoom = defineProvider({
  name: 'zoom',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],
  // Zoom has no delivery id: the event id is the body's hash.
  signsEventId: true,
  signedContent: (request) => ({
    parts: ['v0:', requireHeader(request, TIMESTAMP_HEADER), ':', request.rawBody],
    bodyExact: true,
  }),

  verify(request, source) {
    const signature = requirePrefixedHexSignature(request, SIGNATURE_HEADER, PREFIX);
    const timestamp = requireHeader(request, TIMESTAMP_HEADER);
    const timestampSeconds = parseUnixSeconds(timestamp, `${TIMESTAMP_HEADER} header`);
    // The signature is checked before the clock, so timestamp_out_of_tolerance always means authentic but late.
    const secret = verifyingSecret(source.secrets, signature, (candidate) =>
      hmacDigest('sha256', candidate, ['v0:', timestamp, ':', request.rawBody]),
    );
    assertWithinTolerance(timestampSeconds, request.now, source.toleranceSeconds);

    const payload = parseJson(request.text);
    if (!isJsonObject(payload)) throw new PayloadError('A Zoom event body must be a JSON object.');
    const eventType = stringField(payload, 'event');
    if (eventType !== URL_VALIDATION) return { eventId: undefined, eventType };

    const plainToken = stringField(payload.payload, 'plainToken');
    if (plainToken === undefined) {
      throw new PayloadError(`A Zoom ${URL_VALIDATION} body must carry payload.plainToken.`);
    }
    const encryptedToken = hmacDigest('sha256', secret, [plainToken]).toString('hex');
    return {
      eventId: undefined,
      eventType,
      handshake: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ plainToken, encryptedToken }),
      },
    };
  },

  sign(input, _source) {
    const timestamp = formatUnixSeconds(input.timestamp);
    const digest = hmacDigest('sha256', input.secret, ['v0:', timestamp, ':', input.body]).toString('hex');
    return { 'x-zm-request-timestamp': timestamp, 'x-zm-signature': `${PREFIX}${digest}` };
  },
});
