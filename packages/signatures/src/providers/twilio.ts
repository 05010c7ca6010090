import { z } from 'zod';
import { constantTimeEqual } from '../constant-time.js';
import { hmacDigest, sha256Hex } from '../digest.js';
import { decodeBase64 } from '../encoding.js';
import { SignatureError } from '../errors.js';
import { mediaType, parseFormBody } from '../form-body.js';
import { optionalHeader, requireHeader } from '../header.js';
import { parseJson } from '../json-body.js';
import { defineProvider } from '../provider.js';
import { webhookUrlSchema } from '../webhook-url.js';

const SIGNATURE_HEADER = 'x-twilio-signature';
const BODY_HASH_PARAM = 'bodySHA256';
const STANDARD_PORTS: Readonly<Record<string, string>> = { 'https:': '443', 'http:': '80' };

export const twilioOptionsSchema = z.object({
  /** The public URL configured in Twilio, query string included: what Twilio signs. */
  url: webhookUrlSchema,
});

export type TwilioOptions = z.infer<typeof twilioOptionsSchema>;

/**
 * The forms of a URL a signature may have been made over: Twilio does not always agree with itself
 * about the standard port, so its own validators try the URL with and without it.
 */
function urlVariants(url: string): string[] {
  const parsed = new URL(url);
  const variants = new Set([url, parsed.href]);
  const standardPort = STANDARD_PORTS[parsed.protocol];
  if (parsed.port === '' && standardPort !== undefined) {
    // URL#href never shows a standard port, so it is put back after the authority by hand.
    const rest = `${parsed.pathname}${parsed.search}${parsed.hash}`;
    variants.add(`${parsed.href.slice(0, -rest.length)}:${standardPort}${rest}`);
  } else {
    parsed.port = '';
    variants.add(parsed.href);
  }
  return [...variants];
}

/** `url` with `name=value` added to its query string, before any fragment. */
function withQueryParam(url: string, name: string, value: string): string {
  const hashAt = url.indexOf('#');
  const base = hashAt < 0 ? url : url.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : url.slice(hashAt);
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${name}=${value}${fragment}`;
}

/**
 * The POST parameters the way Twilio's helper libraries concatenate them: names sorted, and for a
 * name sent more than once its distinct values sorted, each pair as `name + value`.
 */
function formParameters(body: string): string {
  const values = new Map<string, Set<string>>();
  for (const [name, value] of parseFormBody(body)) {
    const seen = values.get(name);
    if (seen === undefined) values.set(name, new Set([value]));
    else seen.add(value);
  }
  let data = '';
  for (const name of [...values.keys()].sort()) {
    for (const value of [...(values.get(name) ?? [])].sort()) data += name + value;
  }
  return data;
}

/**
 * What Twilio signs, one string per URL variant. A form body: the URL followed by the sorted
 * parameters (the parameters are what is signed, so an equivalent encoding of them verifies too).
 */
function formSignedStrings(url: string, body: string): string[] {
  const parameters = formParameters(body);
  return urlVariants(url).map((variant) => variant + parameters);
}

/** A JSON body: Twilio adds `bodySHA256=<hex SHA-256 of the raw body>` to the URL and signs the URL alone. */
function jsonSignedStrings(url: string, rawBody: string | Uint8Array): string[] {
  return urlVariants(withQueryParam(url, BODY_HASH_PARAM, sha256Hex(rawBody)));
}

/** A status callback's status, the nearest thing to an event type a Twilio form body carries. */
function statusOf(body: string): string | undefined {
  const fields = parseFormBody(body);
  return fields.get('MessageStatus') ?? fields.get('CallStatus') ?? undefined;
}

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, signed string)>` over the configured
 * public URL, never the one the request claims. No timestamp is signed; the delivery id is
 * `I-Twilio-Idempotency-Token`.
 */
export const twilio = defineProvider({
  name: 'twilio',
  optionsSchema: twilioOptionsSchema,
  credentialHeaders: [SIGNATURE_HEADER],
  // I-Twilio-Idempotency-Token is not signed.
  signsEventId: false,
  // The URL is the source's own, the same for every delivery. A JSON body is bound byte for byte (its
  // hash is in the signed URL); a form body only through its sorted parameters.
  signedContent: (request) =>
    mediaType(request.header('content-type')) === 'application/json'
      ? { parts: [request.rawBody], bodyExact: true }
      : { parts: [formParameters(request.text)], bodyExact: false },

  verify(request, source) {
    const signature = decodeBase64(requireHeader(request, SIGNATURE_HEADER));
    if (signature === undefined) {
      throw new SignatureError('invalid_signature', `The ${SIGNATURE_HEADER} header is not base64.`);
    }
    const json = mediaType(request.header('content-type')) === 'application/json';
    const candidates = json
      ? jsonSignedStrings(source.url, request.rawBody)
      : formSignedStrings(source.url, request.text);
    // Every secret (rotation) against every URL variant.
    const matches = source.secrets.some((secret) =>
      candidates.some((data) => constantTimeEqual(hmacDigest('sha1', secret, [data]), signature)),
    );
    if (!matches)
      throw new SignatureError('invalid_signature', 'No signature matches the configured secrets.');
    return {
      eventId: optionalHeader(request, 'i-twilio-idempotency-token'),
      eventType: json ? undefined : statusOf(request.text),
    };
  },

  sign(input, source) {
    // The body decides how it is sent: JSON as application/json, anything else as form fields.
    const json = parseJson(input.body) !== undefined;
    const [data] = json
      ? jsonSignedStrings(source.url, input.body)
      : formSignedStrings(source.url, input.body);
    return {
      'X-Twilio-Signature': hmacDigest('sha1', input.secret, [data ?? '']).toString('base64'),
      'I-Twilio-Idempotency-Token': input.id,
      'Content-Type': json ? 'application/json' : 'application/x-www-form-urlencoded',
    };
  },
});
