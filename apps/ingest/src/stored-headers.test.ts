import { describe, expect, it } from 'vitest';
import { storedHeaders, storedRawHeaders } from './stored-headers.js';

function headersOf(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let index = 0; index < raw.length; index += 2) headers.append(raw[index] ?? '', raw[index + 1] ?? '');
  return headers;
}

describe('storedRawHeaders', () => {
  const credentials = new Set(['x-hub-signature-256']);

  it('keeps what storedHeaders keeps from the same request, in the same order', () => {
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
    expect(Object.keys(fromRaw)).toEqual(Object.keys(fromHeaders));
    expect(fromRaw).toEqual({
      accept: 'text/plain, application/json',
      'content-type': 'application/json',
      host: 'example.test',
      'x-custom': 'padded value',
      'x-github-event': 'issues',
    });
  });

  it('drops the same headers past the 16 KiB budget', () => {
    const raw: string[] = [];
    for (let index = 0; index < 40; index += 1) raw.push(`X-Filler-${index}`, 'v'.repeat(1000));
    const fromRaw = storedRawHeaders(raw, credentials);
    expect(fromRaw).toEqual(storedHeaders(headersOf(raw), credentials));
    expect(Object.keys(fromRaw).length).toBeLessThan(40);
  });
});
