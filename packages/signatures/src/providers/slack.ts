import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { PayloadError } from '../errors.js';
import { parseFormBody } from '../form-body.js';
import { requireHeader, requirePrefixedHexSignature } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider, type Verified } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';

const SIGNATURE_HEADER = 'x-slack-signature';
const TIMESTAMP_HEADER = 'x-slack-request-timestamp';
const VERSION = 'v0';
const PREFIX = `${VERSION}=`;

/** Events API deliveries are JSON objects; the handshake is answered with its challenge. */
function describeJsonEvent(payload: Record<string, unknown>): Verified {
  const type = stringField(payload, 'type');
  if (type === 'url_verification') {
    const challenge = stringField(payload, 'challenge');
    if (challenge === undefined) throw new PayloadError('A Slack url_verification body has no challenge.');
    return {
      eventType: type,
      handshake: { status: 200, contentType: 'application/json', body: JSON.stringify({ challenge }) },
    };
  }
  return {
    eventId: stringField(payload, 'event_id'),
    eventType: stringField(payload.event, 'type') ?? type,
  };
}

/**
 * Slash commands (`command=/name&...`) and interactivity (`payload=<json>`) are form bodies without a
 * delivery id. A body that is neither just has no type: Slack signs it all the same.
 */
function describeFormEvent(text: string): Verified {
  const fields = parseFormBody(text);
  const command = fields.get('command');
  if (command) return { eventType: command };
  const payload = fields.get('payload');
  return { eventType: payload === null ? undefined : stringField(parseJson(payload), 'type') };
}

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:" + X-Slack-Request-Timestamp + ":" + body)>`,
 * the timestamp in unix seconds. The event id and type come from the body.
 */
export const slack = defineProvider({
  name: 'slack',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],
  // The event_id is read from the signed body.
  signsEventId: true,
  signedContent: (request) => ({
    parts: [VERSION, ':', requireHeader(request, TIMESTAMP_HEADER), ':', request.rawBody],
    bodyExact: true,
  }),

  verify(request, source) {
    const signature = requirePrefixedHexSignature(request, SIGNATURE_HEADER, PREFIX);
    const timestamp = requireHeader(request, TIMESTAMP_HEADER);
    const timestampSeconds = parseUnixSeconds(timestamp, `${TIMESTAMP_HEADER} header`);
    // Signature before clock: timestamp_out_of_tolerance always means authentic but late.
    assertAnySignatureMatches(source.secrets, [signature], (secret) =>
      hmacDigest('sha256', secret, [VERSION, ':', timestamp, ':', request.rawBody]),
    );
    assertWithinTolerance(timestampSeconds, request.now, source.toleranceSeconds);

    const payload = parseJson(request.text);
    return isJsonObject(payload) ? describeJsonEvent(payload) : describeFormEvent(request.text);
  },

  sign(input, _source) {
    const timestamp = formatUnixSeconds(input.timestamp);
    const digest = hmacDigest('sha256', input.secret, [VERSION, ':', timestamp, ':', input.body]).toString(
      'hex',
    );
    return { 'X-Slack-Signature': `${PREFIX}${digest}`, 'X-Slack-Request-Timestamp': timestamp };
  },
});
