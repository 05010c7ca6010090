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
