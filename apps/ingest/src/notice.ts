/** Floods refuse thousands a second: their log lines come at most this often. */
export const NOTICE_INTERVAL_MS = 10_000;

/** `log`, called at most once every `intervalMs` however often the result is called. */
export function atMostEvery<A extends unknown[]>(
  log: (...args: A) => void,
  intervalMs: number = NOTICE_INTERVAL_MS,
  now: () => number = Date.now,
): (...args: A) => boolean {
  let last = Number.NEGATIVE_INFINITY;
  return (...args) => {
    const at = now();
    if (at - last < intervalMs) return false;
    last = at;
    log(...args);
    return true;
  };
}

const MAX_LOGGED_LENGTH = 64;

/**
 * An attacker-chosen string (a path segment, a header) as it may appear in a log line: at most
 * 64 characters, so that a 15,000-character source name costs a log line no more than any other.
 */
export function forLog(text: string): string {
  return text.length <= MAX_LOGGED_LENGTH
    ? text
    : `${text.slice(0, MAX_LOGGED_LENGTH)}…(${text.length} chars)`;
}
