import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from './json-syntax-error.js';

/** JSON.parse's own "at position N", when its message has one. */
function v8Position(text: string): number | undefined {
  try {
    JSON.parse(text);
  } catch (error) {
    const match = /at position (\d+)/.exec((error as Error).message);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  }
  throw new Error(`${text} is valid JSON`);
}

const BROKEN = [
  '{"a": "E-123456",]}}}',
  '{"a": x}',
  '{"a": tru}',
  '{"a": "sec"',
  '{"a": "sec',
  '{"a":1} x',
  '{"a": "se\u0001c"}',
  '{"a": "x\\q"}',
  '{"a": "\\u12G4"}',
  '{"a": "\\',
  '{"a": "\\u12',
  '{a:1}',
  '{"a":01}',
  '{"a":1.}',
  '{"a":1e}',
  '{"a":-}',
  '{"a" 1}',
  '{"a":1,}',
  '[1,]',
  '[1 2]',
  '',
  '   ',
  '{',
  '[[[[',
  '{"a":[1,2}',
  '{"a":{"b":1]}',
  '\uFEFF{}',
  '{"a":"ok"}\n\n,',
  "{'a':1}",
  '{"a":NaN}',
  '{"a":1}}',
];

describe('findJsonSyntaxError', () => {
  it.each(BROKEN)('finds the error in %j where JSON.parse does', (text) => {
    const found = findJsonSyntaxError(text);
    expect(found).toBeDefined();
    const expected = v8Position(text);
    // Some V8 messages quote the text instead of giving a position: then only ours has one.
    if (expected !== undefined) expect(found?.offset).toBe(expected);
  });

  it.each([
    '{}',
    '[]',
    ' {"a": [1, -2.5e+3, 0, true, false, null, "x\\"y\\u00e9\\n"], "b": {}} ',
    '"just a string"',
    '0',
    '{"é": "ü"}',
  ])('accepts %j, as JSON.parse does', (text) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(findJsonSyntaxError(text)).toBeUndefined();
  });

  it('counts lines and columns from 1, in characters', () => {
    const text = '{\n  "sources": {\n    "ünï": 1,\n    "b" 2\n  }\n}';
    expect(findJsonSyntaxError(text)).toMatchObject({
      line: 4,
      column: 9,
      problem: "expected ':' after a property name",
    });
    expect(findJsonSyntaxError('{\r\n  "a": x\r\n}')).toMatchObject({ line: 2, column: 8 });
  });

  it('survives nesting deep enough to overflow a recursive parser', () => {
    const deep = '['.repeat(200_000);
    expect(findJsonSyntaxError(deep)).toMatchObject({ offset: 200_000, problem: 'the file ends too early' });
    expect(findJsonSyntaxError(`${deep}${']'.repeat(200_000)}`)).toBeUndefined();
  });
});
