import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decode } from '../encoding.js';
import { SignatureError } from '../errors.js';
import { requireHeader } from '../header.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';
import { assertWithinTolerance, formatUnixSeconds, parseUnixSeconds } from '../timestamp.js';

// An HTTP field name (RFC 9110 token).
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');

export const hmacOptionsSchema = z.object({
  /** The header carrying the signature: the credential of this source. */
  header: headerName,
  algorithm: z.enum(['sha1', 'sha256', 'sha512']).default('sha256'),
  encoding: z.enum(['hex', 'base64']).default('hex'),
  /** Text before the encoded digest, such as `sha256=`. */
  prefix: z.string().min(1).optional(),
  /** When set, the signed content is `{timestamp}.{body}` and the timestamp must be within tolerance. */
  timestampHeader: headerName.optional(),
});

export type HmacOptions = z.infer<typeof hmacOptionsSchema>;

/** A generic HMAC of the body (or of `{timestamp}.{body}`) in a header the source names. */
export const hmac = defineProvider({
  name: 'hmac',
  optionsSchema: hmacOptionsSchema,
  // The credential is the header the source configures (`header`), not a fixed name:
  // whoever strips credentials from stored or logged headers must drop `source.header` too.
  credentialHeaders: [],
  // The scheme has no delivery id: the event id is the body's hash or the source's idempotency setting.
  signsEventId: true,
  signedContent: (request, source) => ({
    parts:
      source.timestampHeader === undefined
        ? [request.rawBody]
        : [requireHeader(request, source.timestampHeader), '.', request.rawBody],
    bodyExact: true,
  }),

  verify(request, source) {
    const header = requireHeader(request, source.header);
    const prefix = source.prefix ?? '';
    if (!header.startsWith(prefix)) {
      throw new SignatureError(
        'invalid_signature',
        `The ${source.header} header does not start with ${prefix}`,
      );
    }
    const signature = decode(header.slice(prefix.length), source.encoding);
    if (signature === undefined) {
      throw new SignatureError('invalid_signature', `The ${source.header} header is not ${source.encoding}.`);
    }

    let signedPrefix: readonly string[] = [];
    let timestampSeconds: number | undefined;
    if (source.timestampHeader !== undefined) {
      const timestamp = requireHeader(request, source.timestampHeader);
      timestampSeconds = parseUnixSeconds(timestamp, `${source.timestampHeader} header`);
      signedPrefix = [timestamp, '.'];
    }

    assertAnySignatureMatches(source.secrets, [signature], (secret) =>
      hmacDigest(source.algorithm, secret, [...signedPrefix, request.rawBody]),
    );
    if (timestampSeconds !== undefined) {
      assertWithinTolerance(timestampSeconds, request.now, source.toleranceSeconds);
    }
    return {};
  },

  sign(input, source) {
    const headers: Record<string, string> = {};
    const signed: string[] = [];
    if (source.timestampHeader !== undefined) {
      const timestamp = formatUnixSeconds(input.timestamp);
      headers[source.timestampHeader] = timestamp;
      signed.push(timestamp, '.');
    }
    const digest = hmacDigest(source.algorithm, input.secret, [...signed, input.body]).toString(
      source.encoding,
    );
    headers[source.header] = `${source.prefix ?? ''}${digest}`;
    return headers;
  },
});
