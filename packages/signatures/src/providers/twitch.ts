import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { PayloadError, SignatureError } from '../errors.js';
import { optionalHeader, requireHeader, requirePrefixedHexSignature } from '../header.js';
import { isJsonObject, parseJson, stringField } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance, formatUnixSeconds } from '../timestamp.js';

const ID_HEADER = 'twitch-eventsub-message-id';
const TIMESTAMP_HEADER = 'twitch-eventsub-message-timestamp';
const SIGNATURE_HEADER = 'twitch-eventsub-message-signature';
const TYPE_HEADER = 'twitch-eventsub-message-type';
const SUBSCRIPTION_TYPE_HEADER = 'twitch-eventsub-subscription-type';
const PREFIX = 'sha256=';
const CALLBACK_VERIFICATION = 'webhook_callback_verification';

// RFC 3339 date-time: Twitch sends UTC with up to nine fractional digits (2023-07-19T14:56:51.634234626Z).
const RFC_3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Whole seconds since the epoch of an RFC 3339 timestamp (the fraction is dropped), or undefined when
 * the text is not one: every field is range-checked, so `2023-02-30` or `24:00:00` never roll over.
 */
export function parseRfc3339Seconds(value: string): number | undefined {
  if (!RFC_3339.test(value)) return undefined;
  // The pattern fixes where each field sits: `YYYY-MM-DDTHH:MM:SS`, then a fraction, then `Z` or `±HH:MM`.
  const field = (from: number, to: number) => Number(value.slice(from, to));
  const [year, month, day] = [field(0, 4), field(5, 7), field(8, 10)];
  const [hour, minute, second] = [field(11, 13), field(14, 16), field(17, 19)];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // A month or day out of range moves the date: comparing back catches 2023-02-30 and month 13 alike.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  let offsetSeconds = 0;
  if (!/[Zz]$/.test(value)) {
    const offset = value.slice(-6);
    const [offsetHour, offsetMinute] = [Number(offset.slice(1, 3)), Number(offset.slice(4, 6))];
    if (offsetHour > 23 || offsetMinute > 59) return undefined;
    offsetSeconds = (offset.startsWith('-') ? -1 : 1) * (offsetHour * 3600 + offsetMinute * 60);
  }
  return date.getTime() / 1000 + hour * 3600 + minute * 60 + second - offsetSeconds;
}

/** An RFC 3339 UTC timestamp in whole seconds; refuses what `formatUnixSeconds` refuses. */
function formatRfc3339(timestampSeconds: number): string {
  formatUnixSeconds(timestampSeconds);
  return new Date(timestampSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Twitch EventSub: `sha256=<hex HMAC-SHA256(secret, message id + timestamp + body)>`. A
 * `webhook_callback_verification` message is answered, once its signature verified, with its challenge.
 */
export const twitch = defineProvider({
  name: 'twitch',
  optionsSchema: z.object({}),
  credentialHeaders: [SIGNATURE_HEADER],
  // The message id is part of the signed content.
  signsEventId: true,
  signedContent: (request) => ({
    parts: [requireHeader(request, ID_HEADER), requireHeader(request, TIMESTAMP_HEADER), request.rawBody],
    bodyExact: true,
  }),

  verify(request, source) {
    const id = requireHeader(request, ID_HEADER);
    const timestamp = requireHeader(request, TIMESTAMP_HEADER);
    const signature = requirePrefixedHexSignature(request, SIGNATURE_HEADER, PREFIX);
    const timestampSeconds = parseRfc3339Seconds(timestamp);
    if (timestampSeconds === undefined) {
      throw new SignatureError(
        'invalid_signature',
        `The ${TIMESTAMP_HEADER} header is not an RFC 3339 timestamp.`,
      );
    }
    // The signature is checked before the clock, so timestamp_out_of_tolerance always means authentic but late.
    assertAnySignatureMatches(source.secrets, [signature], (secret) =>
      hmacDigest('sha256', secret, [id, timestamp, request.rawBody]),
    );
    assertWithinTolerance(Math.floor(timestampSeconds), request.now, source.toleranceSeconds);

    const payload = parseJson(request.text);
    const subscription = isJsonObject(payload) ? payload.subscription : undefined;
    const eventType = optionalHeader(request, SUBSCRIPTION_TYPE_HEADER) ?? stringField(subscription, 'type');
    // The message type is not signed; a signed body carrying a challenge is what a verification needs.
    if (optionalHeader(request, TYPE_HEADER) !== CALLBACK_VERIFICATION) return { eventId: id, eventType };

    const challenge = stringField(payload, 'challenge');
    if (challenge === undefined) {
      throw new PayloadError(`A Twitch ${CALLBACK_VERIFICATION} body must carry a string challenge.`);
    }
    return {
      eventId: id,
      eventType,
      handshake: { status: 200, contentType: 'text/plain', body: challenge },
    };
  },

  sign(input, _source) {
    const timestamp = formatRfc3339(input.timestamp);
    const digest = hmacDigest('sha256', input.secret, [input.id, timestamp, input.body]).toString('hex');
    return {
      'Twitch-Eventsub-Message-Id': input.id,
      'Twitch-Eventsub-Message-Timestamp': timestamp,
      'Twitch-Eventsub-Message-Signature': `${PREFIX}${digest}`,
      'Twitch-Eventsub-Message-Type': 'notification',
    };
  },
});
