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
