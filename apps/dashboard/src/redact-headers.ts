export const REDACTED = '[redacted]';

// Ingest already drops each provider's credential headers before storing an event. This is a second
// net for what it might not know of: any header whose name says it carries a credential.
const SENSITIVE =
  /authorization|signature|secret|token|password|passwd|api[-_]?key|cookie|hmac|credential|session|jwt|bearer/i;

/** The headers with the value of every credential-looking one replaced, in name order. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  // fromEntries defines own properties, so a header named __proto__ stays a header.
  return Object.fromEntries(
    Object.entries(headers)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => [name, SENSITIVE.test(name) ? REDACTED : value]),
  );
}
