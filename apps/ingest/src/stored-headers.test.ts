import { describe, expect, it } from 'vitest';
import { storedHeaders, storedRawHeaders } from './stored-headers.js';

function headersOf(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let index = 0; index < raw.length; index += 2) headers.append(raw[index] ?? '', raw[index + 1] ?? '');
  return headers;
}

describe('storedRawHeaders', () => {
  const credentials = new Set(['x-hub-signature-256']);

  it('keeps what storedHeaders keeps from the same request', () => {
    const raw = [
      'Host',
      'example.test',
      'X-GitHub-Event',
      'issues',
      'Content-Type',
      'application/json',
      'X-Hub-Signature-256',
      'sha256=abc',
      'Authorization',
      'Bearer secret',
      'Cookie',
      'a=1',
      'Accept',
      'text/plain',
      'accept',
      '  application/json ',
      'Connection',
      'keep-alive',
      'X-Custom',
      '\tpadded value\t',
    ];
    const fromRaw = storedRawHeaders(raw, credentials);
    const fromHeaders = storedHeaders(headersOf(raw), credentials);
    expect(fromRaw).toEqual(fromHeaders);
    expect(fromRaw).toEqual({
      accept: 'text/plain, application/json',
      'content-type': 'application/json',
      host: 'example.test',
      'x-custom': 'padded value',
      'x-github-event': 'issues',
    });
  });

  it('keeps the headers that fit in 16 KiB, in arrival order, and drops the rest', () => {
    const raw: string[] = [];
    for (let index = 0; index < 40; index += 1) raw.push(`X-Filler-${index}`, 'v'.repeat(1000));
    const fromRaw = storedRawHeaders(raw, credentials);
    const names = Object.keys(fromRaw);
    // 16 headers of 1,000 + 11 or 12 bytes fit in 16,384 bytes.
    expect(names).toEqual(Array.from({ length: 16 }, (_, index) => `x-filler-${index}`));
    expect(Object.keys(storedHeaders(headersOf(raw), credentials))).toHaveLength(16);
  });

  it('keeps a header named __proto__ as data', () => {
    const fromRaw = storedRawHeaders(['__proto__', 'value', 'Host', 'example.test'], credentials);
    expect(Object.keys(fromRaw)).toEqual(['__proto__', 'host']);
    expect(JSON.parse(JSON.stringify(fromRaw))).toEqual({ ['__proto__']: 'value', host: 'example.test' });
  });
});
