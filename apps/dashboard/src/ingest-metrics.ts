export interface SignatureFailureCount {
  readonly source: string;
  readonly reason: string;
  readonly count: number;
}

export type SignatureFailures =
  | { readonly available: true; readonly failures: SignatureFailureCount[] }
  | { readonly available: false; readonly reason: string };

const METRIC = 'inlet_signature_failures_total';
// Past this the answer is not ingest's /metrics, and is not worth parsing.
const MAX_BYTES = 8 * 1024 * 1024;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
}

/**
 * The `inlet_signature_failures_total{source,reason}` samples of a Prometheus text exposition,
 * largest first. Other metrics and malformed lines are skipped.
 */
export function parseSignatureFailures(text: string): SignatureFailureCount[] {
  const failures: SignatureFailureCount[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${METRIC}{`)) continue;
    const close = line.lastIndexOf('}');
    if (close < 0) continue;
    const labels = new Map<string, string>();
    for (const [, name, value] of line.slice(METRIC.length + 1, close).matchAll(LABEL)) {
      if (name !== undefined && value !== undefined) labels.set(name, unescapeLabel(value));
    }
    const count = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    const source = labels.get('source');
    const reason = labels.get('reason');
    if (source === undefined || reason === undefined || !Number.isFinite(count)) continue;
    failures.push({ source, reason, count });
  }
  return failures.sort(
    (a, b) => b.count - a.count || a.source.localeCompare(b.source) || a.reason.localeCompare(b.reason),
  );
}

/**
 * Reads signature failures from ingest's /metrics. They are counters of one ingest process since it
 * started; the dashboard does not store them. Anything but a quick 200 means "unavailable".
 */
export async function fetchSignatureFailures(
  url: string | null,
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<SignatureFailures> {
  if (url === null) return { available: false, reason: 'turned off (INLET_INGEST_METRICS_URL=off)' };
  const get = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 1000;
  try {
    const response = await get(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'text/plain' },
    });
    if (!response.ok) {
      await response.body?.cancel();
      return { available: false, reason: `ingest answered ${response.status}` };
    }
    const text = await response.text();
    if (text.length > MAX_BYTES) return { available: false, reason: 'the answer is too large' };
    return { available: true, failures: parseSignatureFailures(text) };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      available: false,
      reason: timedOut ? `no answer within ${timeoutMs / 1000} s` : 'cannot be reached',
    };
  }
}
