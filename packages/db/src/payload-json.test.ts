import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from './client.js';
import {
  exponentsWithinBudget,
  isJsonbCompatible,
  isPayloadRefusal,
  payloadJsonFor,
} from './payload-json.js';
import { TestDatabase } from './test-database.js';

let database: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  database = await TestDatabase.create();
  sql = database.connect({ max: 2 });
});

afterAll(async () => {
  await database?.drop();
});

describe('payloadJsonFor without the check', () => {
  it('hands a JSON body back unparsed, and still checks the form fields it builds', () => {
    expect(payloadJsonFor('{"a":', 'application/json', { check: false })).toBe('{"a":');
    expect(payloadJsonFor('{"a":', 'application/json')).toBeNull();
    expect(payloadJsonFor('plain', 'text/plain', { check: false })).toBeNull();
    expect(payloadJsonFor('a=%00', 'application/x-www-form-urlencoded', { check: false })).toBeNull();
  });
});

describe('numbers that would blow the payload up', () => {
  // 4.5 KB that PostgreSQL's numeric stores exactly: 65 MB of payload::text, and as much again
  // through jsonb_pretty.
  const bomb = `[${Array.from({ length: 500 }, () => '1e131071').join(',')}]`;

  it('refuse the payload, with or without the full check', () => {
    expect(bomb.length).toBeLessThan(5000);
    expect(payloadJsonFor(bomb, 'application/json', { check: false })).toBeNull();
    expect(payloadJsonFor(bomb, 'application/json')).toBeNull();
    expect(payloadJsonFor('{"n":1e131071}', undefined, { check: false })).toBeNull();
    // Small exponents add up too: 2,000 of 1e999 is 6 KB of body for 2 MB of digits.
    const many = `[${Array.from({ length: 2000 }, () => '1e999').join(',')}]`;
    expect(payloadJsonFor(many, 'application/json', { check: false })).toBeNull();
    expect(payloadJsonFor('[1E+3000, 2e-3000]', 'application/json', { check: false })).toBeNull();
  });

  it('keep ordinary numbers, and exponent-like text inside strings', () => {
    const body = '{"id":"evt_1e99999","rate":1.5e-7,"big":2E+10,"n":12345678901234567890}';
    expect(payloadJsonFor(body, 'application/json', { check: false })).toBe(body);
    expect(payloadJsonFor(body, 'application/json')).toBe(body);
    const escaped = '{"note":"quote \\" then 1e131071 \\\\","x":1}';
    expect(JSON.parse(escaped)).toBeTruthy();
    expect(exponentsWithinBudget(escaped)).toBe(true);
    // Exponent-like text in strings past the budget: the JSON is walked, and strings do not count.
    const wordy = JSON.stringify({ note: ' 1e999'.repeat(10), n: 1e300 });
    expect(payloadJsonFor(wordy, 'application/json', { check: false })).toBe(wordy);
    expect(exponentsWithinBudget('[1e4096]')).toBe(true);
    expect(exponentsWithinBudget('[1e4097]')).toBe(false);
    expect(exponentsWithinBudget('[1e5, 1e6]', 10)).toBe(false);
  });
});

describe('isPayloadRefusal', () => {
  it('knows data exceptions and stack exhaustion from other failures', () => {
    expect(isPayloadRefusal({ code: '22P02' })).toBe(true);
    expect(isPayloadRefusal({ code: '22P05' })).toBe(true);
    expect(isPayloadRefusal({ code: '54001' })).toBe(true);
    expect(isPayloadRefusal({ code: '40001' })).toBe(false);
    expect(isPayloadRefusal({ code: '23505' })).toBe(false);
    expect(isPayloadRefusal(new Error('x'))).toBe(false);
    expect(isPayloadRefusal(null)).toBe(false);
  });
});

describe('payloadJsonFor', () => {
  it('passes a JSON body through untouched', () => {
    const body = '{ "id": 12345678901234567890123, "nested": [1, 2.50, {"a": null}] }';
    expect(payloadJsonFor(body, 'application/json')).toBe(body);
    expect(payloadJsonFor(body, 'application/json; charset=utf-8')).toBe(body);
    expect(payloadJsonFor(body, 'Application/JSON')).toBe(body);
    expect(payloadJsonFor(body, 'application/vnd.github+json')).toBe(body);
    expect(payloadJsonFor(body, 'text/json')).toBe(body);
    expect(payloadJsonFor('"a string"', 'application/json')).toBe('"a string"');
    expect(payloadJsonFor('42', 'application/json')).toBe('42');
  });

  it('recognises JSON without a content type by its first character', () => {
    expect(payloadJsonFor('{"a":1}', undefined)).toBe('{"a":1}');
    expect(payloadJsonFor('  [1,2]', undefined)).toBe('  [1,2]');
    expect(payloadJsonFor('{"a":1}', '')).toBe('{"a":1}');
    expect(payloadJsonFor('42', undefined)).toBeNull();
    expect(payloadJsonFor('"text"', undefined)).toBeNull();
  });

  it('gives null for malformed JSON', () => {
    expect(payloadJsonFor('{"a":', 'application/json')).toBeNull();
    expect(payloadJsonFor('', 'application/json')).toBeNull();
    expect(payloadJsonFor("{'a': 1}", 'application/json')).toBeNull();
    expect(payloadJsonFor('{"a": NaN}', undefined)).toBeNull();
    expect(payloadJsonFor('\ufeff{"a":1}', 'application/json')).toBeNull();
  });

  it('gives null for JSON that jsonb refuses', () => {
    expect(payloadJsonFor('{"a":"\\u0000"}', 'application/json')).toBeNull();
    expect(payloadJsonFor('{"a":"\\ud83d"}', 'application/json')).toBeNull();
    expect(payloadJsonFor('{"a":"\\ude00"}', 'application/json')).toBeNull();
    expect(payloadJsonFor('{"a":"\\ude00\\ud83d"}', 'application/json')).toBeNull();
    expect(payloadJsonFor('{"a":"\\ud83dx"}', 'application/json')).toBeNull();
    // Escaped backslashes are not escapes of anything else.
    expect(payloadJsonFor('{"a":"\\\\u0000"}', 'application/json')).toBe('{"a":"\\\\u0000"}');
    expect(payloadJsonFor('{"a":"\\ud83d\\ude00"}', 'application/json')).toBe('{"a":"\\ud83d\\ude00"}');
  });

  it('gives null for absurd nesting and numbers', () => {
    expect(payloadJsonFor(`${'['.repeat(1001)}${']'.repeat(1001)}`, undefined)).toBeNull();
    expect(payloadJsonFor(`${'['.repeat(1000)}${']'.repeat(1000)}`, undefined)).not.toBeNull();
    expect(payloadJsonFor('[1e100000]', undefined)).toBeNull();
    expect(payloadJsonFor(`[0.${'1'.repeat(1000)}]`, undefined)).toBeNull();
    expect(payloadJsonFor('[1.7976931348623157e308, 5e-324, -1E+2]', undefined)).not.toBeNull();
  });

  it('turns form bodies into an object of fields', () => {
    const form = 'CallSid=CA123&Digits=1234&To=%2B18005551212&name=J%C3%BCrgen+M&tag=a&tag=b&tag=c&empty=';
    expect(
      JSON.parse(payloadJsonFor(form, 'application/x-www-form-urlencoded; charset=utf-8') ?? 'null'),
    ).toEqual({
      CallSid: 'CA123',
      Digits: '1234',
      To: '+18005551212',
      name: 'Jürgen M',
      tag: ['a', 'b', 'c'],
      empty: '',
    });
    expect(payloadJsonFor('', 'application/x-www-form-urlencoded')).toBe('{}');
    expect(JSON.parse(payloadJsonFor('__proto__=x', 'application/x-www-form-urlencoded') ?? 'null')).toEqual(
      JSON.parse('{"__proto__":"x"}'),
    );
    expect(payloadJsonFor('a=%00', 'application/x-www-form-urlencoded')).toBeNull();
  });

  it('gives null for other media types', () => {
    expect(payloadJsonFor('{"a":1}', 'text/plain')).toBeNull();
    expect(payloadJsonFor('<a/>', 'application/xml')).toBeNull();
    expect(payloadJsonFor('a=1', undefined)).toBeNull();
    expect(payloadJsonFor('{"a":1}', 'multipart/form-data; boundary=x')).toBeNull();
  });
});

describe('isJsonbCompatible', () => {
  const cases = [
    '{"a": 1}',
    '"\\u0000"',
    '"\\\\u0000"',
    '"\\ud800"',
    '"\\udc00"',
    '"\\ud800\\udc00"',
    '"\\udc00\\ud800"',
    '"\\ud800x"',
    '"\\ud800\\n"',
    '"\\ud800\\u0041"',
    '"\\u00e9\\u4e2d"',
    '[1e999]',
    '[1e131072]',
    '[1e-20000]',
    `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  ];

  it.each(cases.map((text) => [text.slice(0, 30), text]))(
    'agrees with PostgreSQL on %s',
    async (_label, text) => {
      const accepted = await sql`SELECT ${text}::text::jsonb`.then(
        () => true,
        () => false,
      );
      expect(isJsonbCompatible(text)).toBe(accepted);
    },
  );
});
