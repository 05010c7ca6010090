// Bounds well past any real payload and well within what PostgreSQL (stack depth, numeric range)
// and CockroachDB (decimals up to 2000 digits) accept.
const MAX_DEPTH = 1000;
const MAX_NUMBER_DIGITS = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

const JSON_NUMBER = /-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?/y;

/**
 * An exponent, wherever it is (inside strings too), unless a letter or `_` touches it, which no
 * number's can in valid JSON (ids such as "in_1e5abc" are skipped). Adding these up over-counts a
 * body's exponents, never under-counts them: a body within its budget by this count needs no walk.
 */
const EXPONENT_LIKE = /(?<![A-Za-z_])\d[eE][+-]?(\d+)(?![A-Za-z_])/g;

/** Exponents may add up to this much in any body, however short: the extremes of a double, and more. */
const MIN_EXPONENT_BUDGET = 4096;

export interface PayloadJsonOptions {
  /**
   * `false` hands a JSON body back without checking it (the check costs a full parse), for a caller
   * that lets the database judge it and stores the event without a payload should the database
   * refuse it (see `isPayloadRefusal`). Default true. The size of its numbers is checked either way:
   * the database would accept them, at many times the body's size.
   */
  readonly check?: boolean;
}

/**
 * The text to store in `payload` for a body, or null when there is none:
 * - a JSON body (a `json` / `+json` media type, or no content type and a body opening with `{` or
 *   `[`): the body itself, when the database's jsonb will accept it;
 * - `application/x-www-form-urlencoded`: an object of the fields, a repeated field as an array;
 * - anything else: null.
 * The body is passed through as text so that the database parses numbers with full precision.
 */
export function payloadJsonFor(
  body: string,
  contentType: string | undefined,
  options: PayloadJsonOptions = {},
): string | null {
  const mediaType = (contentType?.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded') return formFieldsJson(body);
  const isJson =
    mediaType === ''
      ? /^[ \t\n\r]*[[{]/.test(body)
      : mediaType.endsWith('/json') || mediaType.endsWith('+json');
  if (!isJson) return null;
  if (options.check === false) return exponentsWithinBudget(body) ? body : null;
  return isJsonbCompatible(body) ? body : null;
}

/**
 * False when the body's numbers would grow far past the body once the database writes them out:
 * jsonb keeps a number as an exact numeric, so `1e131071` (8 bytes) reads back as 131,072 digits,
 * and a 4.5 KB array of them as 65 MB of `payload::text`. The numbers' exponents may add up to the
 * body's length (or 4096, for a short body) at most, which keeps the stored payload's text within
 * about twice the body plus 4 KB. Only numbers count: an exponent-like run inside a string (an id
 * such as "a1e99") is text.
 */
export function exponentsWithinBudget(
  text: string,
  budget: number = Math.max(MIN_EXPONENT_BUDGET, text.length),
): boolean {
  let rough = 0;
  EXPONENT_LIKE.lastIndex = 0;
  for (let match = EXPONENT_LIKE.exec(text); match !== null; match = EXPONENT_LIKE.exec(text)) {
    rough += exponentSize(match[1]);
  }
  if (rough <= budget) return true;
  // Over budget by the rough count: walk the JSON, so that text inside strings does not count.
  let total = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = endOfAnyString(text, i + 1);
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      JSON_NUMBER.lastIndex = i;
      const match = JSON_NUMBER.exec(text);
      if (!match) {
        i++;
        continue;
      }
      total += exponentSize(match[3]);
      if (total > budget) return false;
      i = JSON_NUMBER.lastIndex;
    } else {
      i++;
    }
  }
  return true;
}

/** |exponent| of a number's exponent text, saturated far past any budget. */
function exponentSize(exponent: string | undefined): number {
  if (exponent === undefined) return 0;
  if (exponent.length <= 15) return Math.abs(Number(exponent));
  const digits = exponent.replace(/^[+-]?0*/, '');
  return digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits);
}

/** Index just past the string whose contents start at `start` (escapes skipped, not judged). */
function endOfAnyString(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    i += c === BACKSLASH ? 2 : 1;
  }
  return text.length;
}

/**
 * True when the database refused a statement's data rather than the statement: SQLSTATE class 22
 * (data exception: JSON it cannot parse, a `\u0000` escape, a number out of range) or 54001
 * (nesting deep enough to exhaust its stack). The same on PostgreSQL and CockroachDB.
 */
export function isPayloadRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = error.code;
  return typeof code === 'string' && (code.startsWith('22') || code === '54001');
}

/**
 * True when `text` is JSON that PostgreSQL's and CockroachDB's jsonb accept. Stricter than
 * JSON.parse: jsonb rejects `\u0000` and unpaired surrogate escapes, nesting deep enough to exhaust
 * the server's stack, and numbers beyond its numeric range. Numbers whose exponents would blow the
 * payload up far past the body are refused too (see exponentsWithinBudget).
 */
export function isJsonbCompatible(text: string): boolean {
  try {
    JSON.parse(text);
  } catch {
    return false;
  }
  return withinJsonbLimits(text) && exponentsWithinBudget(text);
}

/** Walks text already known to be valid JSON. */
function withinJsonbLimits(text: string): boolean {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = endOfString(text, i + 1);
      if (end < 0) return false;
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_DEPTH) return false;
      i++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      i++;
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      JSON_NUMBER.lastIndex = i;
      const match = JSON_NUMBER.exec(text);
      if (!match) return false;
      const digits = (match[1]?.length ?? 0) + (match[2]?.length ?? 0);
      const exponent = Math.abs(Number(match[3] ?? '0'));
      if (digits + exponent > MAX_NUMBER_DIGITS) return false;
      i = JSON_NUMBER.lastIndex;
    } else {
      i++;
    }
  }
  return true;
}

/** Index just past the string whose contents start at `start`, or -1 if jsonb would refuse it. */
function endOfString(text: string, start: number): number {
  let highSurrogatePending = false;
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH && text.charCodeAt(i + 1) === LOWER_U) {
      const unit = Number.parseInt(text.slice(i + 2, i + 6), 16);
      if (unit === 0) return -1;
      const isHigh = unit >= 0xd800 && unit <= 0xdbff;
      const isLow = unit >= 0xdc00 && unit <= 0xdfff;
      // A high surrogate escape must be followed at once by a low one, and a low one needs it.
      if (highSurrogatePending !== isLow) return -1;
      highSurrogatePending = isHigh;
      i += 6;
      continue;
    }
    if (highSurrogatePending) return -1;
    if (c === QUOTE) return i + 1;
    i += c === BACKSLASH ? 2 : 1;
  }
  return -1;
}

function formFieldsJson(body: string): string | null {
  // No prototype, so a field named __proto__ is just a field.
  const fields: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(body)) {
    const existing = fields[key];
    if (existing === undefined) fields[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else fields[key] = [existing, value];
  }
  const json = JSON.stringify(fields);
  // `%00` decodes to U+0000, which JSON.stringify escapes as `\u0000`.
  return isJsonbCompatible(json) ? json : null;
}
