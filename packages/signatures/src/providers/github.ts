import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { decodeHex } from '../encoding.js';
import { SignatureError } from '../errors.js';
import { optionalHeader, requireHeader } from '../header.js';
import { defineProvider } from '../provider.js';
import { assertAnySignatureMatches } from '../signature-match.js';

const SIGNATURE_HEADER = 'x-hub-signature-256';
const PREFIX = 'sha256=';

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`; no timestamp is signed. */
export const github = defineProvider({
  name: 'github',
  optionsSchema: z.object({}),
  // X-Hub-Signature is the legacy SHA-1 signature GitHub still sends: never accepted, never stored.
  credentialHeaders: [SIGNATURE_HEADER, 'x-hub-signature'],

  verify(request, source) {
    const header = requireHeader(request, SIGNATURE_HEADER);
    if (!header.startsWith(PREFIX)) {
      throw new SignatureError(
        'invalid_signature',
        `The ${SIGNATURE_HEADER} header does not start with ${PREFIX}`,
      );
    }
    const signature = decodeHex(header.slice(PREFIX.length));
    if (signature === undefined) {
      throw new SignatureError('invalid_signature', `The ${SIGNATURE_HEADER} header is not hex.`);
    }
    assertAnySignatureMatches(source.secrets, [signature], (secret) =>
      hmacDigest('sha256', secret, [request.rawBody]),
    );
    return {
      eventId: optionalHeader(request, 'x-github-delivery'),
      eventType: optionalHeader(request, 'x-github-event'),
    };
  },

  sign(input, _source) {
    const digest = hmacDigest('sha256', input.secret, [input.body]).toString('hex');
    return {
      'X-Hub-Signature-256': `${PREFIX}${digest}`,
      'X-GitHub-Delivery': input.id,
      'X-GitHub-Event': 'inlet.test',
    };
  },
});
