import { createHash } from 'node:crypto';
import type { Idempotency } from '@inlet/config';
import { type DeliveryRequest, jsonDepthExceeds, MAX_JSON_DEPTH } from '@inlet/signatures';
import { IngestError } from './errors.js';

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
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
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
