/**
 * Reads the value at a JSON pointer (RFC 6901) straight from a document's text: for a number, its
 * text as sent. `JSON.parse` turns 1234567890123456789 into 1234567890123456800, so two ids past
 * 2^53 that differ in their last digits would read alike. Only called on text that `JSON.parse`
 * has accepted, so the scanner needs no error handling of its own; like `JSON.parse`, it takes the
 * last of duplicate keys.
 */
export function rawValueAt(text: string, pointer: string): string | undefined {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((raw) => raw.replaceAll('~1', '/').replaceAll('~0', '~'));
  let at = skipSpace(text, 0);
  for (const key of keys) {
    const found = text[at] === '{' ? memberAt(text, at, key) : text[at] === '[' ? itemAt(text, at, key) : -1;
    if (found < 0) return undefined;
    at = found;
  }
  return text.slice(at, valueEnd(text, at));
}

const SPACE = /[ \t\n\r]/;

function skipSpace(text: string, from: number): number {
  let at = from;
  while (at < text.length && SPACE.test(text[at] as string)) at += 1;
  return at;
}

/** Where the value of the last member named `key` starts, or -1. `at` is on the `{`. */
function memberAt(text: string, at: number, key: string): number {
  let found = -1;
  let i = skipSpace(text, at + 1);
  if (text[i] === '}') return -1;
  for (;;) {
    const keyEnd = valueEnd(text, i);
    const name = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipSpace(text, skipSpace(text, keyEnd) + 1);
    if (name === key) found = valueStart;
    i = skipSpace(text, valueEnd(text, valueStart));
    if (text[i] !== ',') return found;
    i = skipSpace(text, i + 1);
  }
}

/** Where item `index` (decimal, no leading zero) starts, or -1. `at` is on the `[`. */
function itemAt(text: string, at: number, index: string): number {
  if (!/^(0|[1-9]\d*)$/.test(index)) return -1;
  const wanted = Number(index);
  let i = skipSpace(text, at + 1);
  if (text[i] === ']') return -1;
  for (let n = 0; ; n += 1) {
    if (n === wanted) return i;
    i = skipSpace(text, valueEnd(text, i));
    if (text[i] !== ',') return -1;
    i = skipSpace(text, i + 1);
  }
}

/** The index just past the value starting at `at`. */
function valueEnd(text: string, at: number): number {
  const first = text[at];
  if (first === '"') {
    let i = at + 1;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    return i + 1;
  }
  if (first === '{' || first === '[') {
    let depth = 0;
    let i = at;
    do {
      const c = text[i];
      if (c === '"') {
        i = valueEnd(text, i);
        continue;
      }
      if (c === '{' || c === '[') depth += 1;
      else if (c === '}' || c === ']') depth -= 1;
      i += 1;
    } while (depth > 0);
    return i;
  }
  // A number or a literal (true, false, null): runs to the next delimiter.
  let i = at;
  while (i < text.length && !/[ \t\n\r,}\]]/.test(text[i] as string)) i += 1;
  return i;
}
