import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decodeBase64 } from '../encoding.js';
import { requireHeader } from '../header.js';
import { parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';

const ID_HEADER = 'webhook-id';
const TIMESTAMP_HEADER = 'webhook-timestamp';
const SIGNATURE_HEADER = 'webhook-signature';
const SECRET_PREFIX = 'whsec_';

/** The HMAC key: the base64 after an optional `whsec_` prefix; undefined when that is not base64. */
export function standardWebhooksKey(secret: string): Buffer | undefined {
  return decodeBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
}

/**
 * The `v1` signatures of a `webhook-signature` header (space separated `version,base64` entries).
 * Other versions (`v1a` ed25519, future ones) are skipped; a malformed `v1` entry can match nothing, so it is dropped.
 */
function v1Signatures(header: string): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const separator = entry.indexOf(',');
    if (separator < 0 || entry.slice(0, separator) !== 'v1') continue;
    const signature = decodeBase64(entry.slice(separator + 1));
    if (signature !== undefined) signatures.push(signature);
  }
  return signatures;
}

/** Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, several signatures for rotation. */
export const standardWebhooks = defineProvider({
  name: 'standard-webhooks',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],

  verify(request, source) {
    const id = requireHeader(request, ID_HEADER);
    const timestamp = requireHeader(request, TIMESTAMP_HEADER);
    const signatures = v1Signatures(requireHeader(request, SIGNATURE_HEADER));
    const timestampSeconds = parseUnixSeconds(timestamp, `${TIMESTAMP_HEADER} header`);
    // The signature is checked before the clock, so timestamp_out_of_tolerance always means authentic but late.
    assertAnySignatureMatches(source.secrets, signatures, (secret) => {
      const key = standardWebhooksKey(secret);
      return key === undefined
        ? undefined
        : hmacDigest('sha256', key, [id, '.', timestamp, '.', request.rawBody]);
    });
    assertWithinTolerance(timestampSeconds, request.now, source.toleranceSeconds);
    // The type is informative only: a body that is not JSON is still a valid delivery.
    return { eventId: id, eventType: stringField(parseJson(request.text), 'type') };
  },

  sign(input, _source) {
    const key = standardWebhooksKey(input.secret);
    if (key === undefined) {
      throw new TypeError('A Standard Webhooks secret must be base64, optionally after whsec_.');
    }
    const timestamp = formatUnixSeconds(input.timestamp);
    const digest = hmacDigest('sha256', key, [input.id, '.', timestamp, '.', input.body]).toString('base64');
    return { 'webhook-id': input.id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${digest}` };
  },
});
