import { z } from 'zod';
import { hmacDigest } from '../digest.js';
import { optionalHeader, requirePrefixedHexSignature } from '../header.js';
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
  // X-GitHub-Delivery is not signed: only the body is.
  signsEventId: false,
  signedContent: (request) => ({ parts: [request.rawBody], bodyExact: true }),

  verify(request, source) {
    const signature = requirePrefixedHexSignature(request, SIGNATURE_HEADER, PREFIX);
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
