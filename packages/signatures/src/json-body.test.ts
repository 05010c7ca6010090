import { describe, expect, it } from 'vitest';
import { PayloadError } from './errors.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH, parseJson } from './json-body.js';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('jsonDepthExceeds', () => {
  it('counts nesting outside strings only', () => {
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonDepthExceeds(`{"a":"${'['.repeat(1000)}"}`)).toBe(false);
    expect(jsonDepthExceeds(`{"a":"\\"${'{'.repeat(1000)}"}`)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":[1,{"c":2}]}}', 4)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":[1,{"c":2}]}}', 3)).toBe(true);
  });
});

/** The walk alone, without the bracket count that usually skips it. */
function walkExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i += 1;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      depth += 1;
      if (depth > max) return true;
    } else if (c === '}' || c === ']') depth -= 1;
  }
  return false;
}

describe('jsonDepthExceeds, with and without the shortcut', () => {
  it('answers as the walk does for wide, shallow documents with many brackets', () => {
    const wide = `[${Array.from({ length: 500 }, () => '{"a":[1]}').join(',')}]`;
    expect(jsonDepthExceeds(wide)).toBe(false);
    expect(jsonDepthExceeds(wide, 2)).toBe(true);
  });

  it('agrees with the walk on random strings of brackets, quotes and escapes', () => {
    const alphabet = ['{', '}', '[', ']', '"', '\\', 'a'];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let run = 0; run < 2000; run++) {
      const length = next() % 40;
      const text = Array.from({ length }, () => alphabet[next() % alphabet.length]).join('');
      const max = next() % 8;
      expect(jsonDepthExceeds(text, max), `${text} at ${max}`).toBe(walkExceeds(text, max));
    }
  });
});

describe('parseJson', () => {
  it('parses JSON and answers undefined for anything else', () => {
    expect(parseJson('{"id":"evt_1"}')).toEqual({ id: 'evt_1' });
    expect(parseJson('token=x&team_id=T1')).toBeUndefined();
    expect(parseJson('{"truncated":')).toBeUndefined();
  });

  it('refuses a document nested too deep as invalid_payload, without parsing it', () => {
    expect(() => parseJson(nested(100_000))).toThrow(PayloadError);
    expect(() => parseJson(`{"a":${nested(MAX_JSON_DEPTH)}}`)).toThrow(/deeper than 64 levels/);
  });
});
