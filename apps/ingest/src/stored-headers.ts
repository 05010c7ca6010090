/** Never stored: credentials, and headers that only describe the connection. */
const ALWAYS_DROPPED = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
]);

const MAX_STORED_HEADER_BYTES = 16 * 1024;

/** The request headers kept with an event: lower-cased, credentials and signatures removed, bounded. */
export function storedHeaders(
  headers: Headers,
  credentialHeaders: ReadonlySet<string>,
): Record<string, string> {
  const kept: Record<string, string> = {};
  let budget = MAX_STORED_HEADER_BYTES;
  headers.forEach((value, name) => {
    if (ALWAYS_DROPPED.has(name) || credentialHeaders.has(name)) return;
    budget -= name.length + value.length;
    if (budget >= 0) kept[name] = value;
  });
  return kept;
}

function isHttpWhitespace(code: number): boolean {
  return code === 9 || code === 10 || code === 13 || code === 32;
}

/** A header value as the Fetch API's Headers keeps it: without surrounding HTTP whitespace. */
function normalizeValue(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(value.charCodeAt(start))) start += 1;
  while (end > start && isHttpWhitespace(value.charCodeAt(end - 1))) end -= 1;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * The same as `storedHeaders`, from Node's `rawHeaders` (name, value, name, value, ...) without
 * building a Headers object: names lower-cased, repeated names joined with ", ", values trimmed.
 * Keys come in arrival order rather than sorted (JSONB keeps its own order anyway), so past the
 * budget the two may keep different headers.
 */
export function storedRawHeaders(
  rawHeaders: readonly string[],
  credentialHeaders: ReadonlySet<string>,
): Record<string, string> {
  // No prototype: a header named __proto__ is kept as data like any other.
  const kept: Record<string, string> = Object.create(null);
  let budget = MAX_STORED_HEADER_BYTES;
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = (rawHeaders[index] as string).toLowerCase();
    if (name.startsWith(':') || ALWAYS_DROPPED.has(name) || credentialHeaders.has(name)) continue;
    const value = normalizeValue(rawHeaders[index + 1] as string);
    const previous = kept[name];
    budget -= previous === undefined ? name.length + value.length : value.length + 2;
    if (budget < 0) break;
    kept[name] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return kept;
}
