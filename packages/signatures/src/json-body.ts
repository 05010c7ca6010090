import { PayloadError } from './errors.js';

/**
 * Deepest JSON nesting read from a body: far past any real webhook payload, and short of what
 * recursive code (JSON.stringify, a handler walking the payload) can take.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** At most `max` opening brackets in all, strings included: then nothing can nest deeper. */
function fewOpeningBrackets(text: string, max: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    // indexOf runs natively: far cheaper than walking a typical body a character at a time.
    for (let i = text.indexOf(bracket); i !== -1; i = text.indexOf(bracket, i + 1)) {
      count += 1;
      if (count > max) return false;
    }
  }
  return true;
}

/** True when brackets outside strings nest deeper than `max`; stops at the first level too deep. */
export function jsonDepthExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  if (fewOpeningBrackets(text, max)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * Parses a body as JSON; undefined when it is not JSON. Only ever called on a verified body, and a
 * document nested deeper than MAX_JSON_DEPTH is refused as invalid_payload rather than parsed.
 */
export function parseJson(text: string): unknown {
  if (jsonDepthExceeds(text)) {
    throw new PayloadError(`The body nests JSON deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string property of a parsed JSON object, or undefined. */
export function stringField(value: unknown, key: string): string | undefined {
  if (!isJsonObject(value)) return undefined;
  const field = value[key];
  return typeof field === 'string' ? field : undefined;
}
