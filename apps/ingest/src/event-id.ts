import { createHash, hash } from 'node:crypto';
import type { Idempotency } from '@inlet/config';
import {
  type DeliveryRequest,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  type Provider,
  type SignedContent,
} from '@inlet/signatures';
import { IngestError } from './errors.js';
import { rawValueAt } from './json-pointer.js';

const MAX_EVENT_ID_LENGTH = 512;

/** Reads a JSON pointer (RFC 6901) from a parsed document. */
function readPointer(document: unknown, pointer: string): unknown {
  let node = document;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function fromIdempotency(setting: Idempotency, request: DeliveryRequest): string {
  if ('header' in setting) {
    const value = request.header(setting.header);
    if (!value)
      throw new IngestError(
        'invalid_payload',
        `The ${setting.header} header that identifies the event is missing.`,
      );
    return value;
  }
  // Runs after verification; the depth bound keeps even a signed body from nesting without end.
  if (jsonDepthExceeds(request.text)) {
    throw new IngestError('invalid_payload', `The body nests JSON deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  let document: unknown;
  try {
    document = JSON.parse(request.text);
  } catch {
    throw new IngestError(
      'invalid_payload',
      'The body is not valid JSON, so the event id cannot be read from it.',
    );
  }
  const value = readPointer(document, setting.jsonPointer);
  if (typeof value === 'string' && value !== '') return value;
  // A number's id is its text as sent: JSON.parse loses digits past 2^53 (1234567890123456789 and
  // ...790 both read 1234567890123456800), and distinct ids must never merge.
  if (typeof value === 'number') {
    const raw = rawValueAt(request.text, setting.jsonPointer);
    if (raw !== undefined && raw !== '') return raw;
  }
  throw new IngestError('invalid_payload', `The body has no event id at ${setting.jsonPointer}.`);
}

/**
 * The idempotency key of a delivery: the source's `idempotency` setting when configured (it
 * overrides), else the provider's own delivery id, else the SHA-256 of the raw body.
 */
export function deriveEventId(
  request: DeliveryRequest,
  providerEventId: string | undefined,
  setting: Idempotency | undefined,
): string {
  const id = setting
    ? fromIdempotency(setting, request)
    : providerEventId || `sha256:${createHash('sha256').update(request.rawBody).digest('hex')}`;
  if (id.length > MAX_EVENT_ID_LENGTH) {
    throw new IngestError(
      'invalid_payload',
      `The event id is longer than ${MAX_EVENT_ID_LENGTH} characters.`,
    );
  }
  return id;
}

/**
 * Whether the signature binds the event id of every delivery of the source, so that a captured one
 * cannot come back under another id. An idempotency header never does; an id read from the body, or
 * the body's hash, does when the body's exact bytes are signed; the provider's own id when its scheme
 * signs it. Asked per source, not per delivery: a replay without a delivery id falls back to the
 * body's hash, and must still meet the first copy, which had one.
 */
function idsAreSigned(provider: Provider, content: SignedContent, setting: Idempotency | undefined): boolean {
  if (setting) return 'jsonPointer' in setting && content.bodyExact;
  return provider.signsEventId && content.bodyExact;
}

/**
 * The content key of a verified delivery of a source whose event ids are not signed: hex SHA-256 of
 * what the signature covers. The database stores one event per source and key, so a captured body
 * and signature resent under a fresh (or no) delivery id store nothing new and run no handler again.
 * Undefined where ids are signed (their own uniqueness is enough), or where the signature does not
 * cover the body (nothing to bind a replay to).
 */
export function contentKeyFor(
  provider: Provider,
  settings: Parameters<Provider['signedContent']>[1],
  request: DeliveryRequest,
  setting: Idempotency | undefined,
): string | undefined {
  // The common case, decided without a look at the delivery: a scheme that signs its own id (and,
  // where it has none, the exact body whose hash then stands for it).
  if (!setting && provider.signsEventId) return undefined;
  const content = provider.signedContent(request, settings);
  if (content === undefined || idsAreSigned(provider, content, setting)) return undefined;
  const [only] = content.parts;
  // The one-shot hash costs less than half a streaming one on a typical body (GitHub's, Shopify's).
  if (content.parts.length === 1 && only !== undefined) return hash('sha256', only, 'hex');
  const digest = createHash('sha256');
  for (const part of content.parts) digest.update(part);
  return digest.digest('hex');
}
