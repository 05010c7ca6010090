import { describe, expect, it } from 'vitest';
import { REDACTED, redactHeaders } from './redact-headers.js';

describe('redactHeaders', () => {
  it('hides every header whose name says it carries a credential, and keeps the rest in name order', () => {
    const redacted = redactHeaders({
      'x-github-event': 'push',
      'stripe-signature': 't=1,v1=abc',
      'webhook-signature': 'v1,abc',
      'x-shopify-hmac-sha256': 'abc',
      authorization: 'Bearer abc',
      'proxy-authorization': 'Basic abc',
      cookie: 'session=abc',
      'x-api-key': 'abc',
      'x-auth-token': 'abc',
      'x-webhook-secret': 'abc',
      'content-type': 'application/json',
      'user-agent': 'Stripe/1.0',
    });
    expect(Object.keys(redacted)).toEqual([...Object.keys(redacted)].sort());
    expect(redacted).toMatchObject({
      'x-github-event': 'push',
      'content-type': 'application/json',
      'user-agent': 'Stripe/1.0',
    });
    const hidden = Object.entries(redacted).filter(([, value]) => value === REDACTED);
    expect(hidden.map(([name]) => name).sort()).toEqual(
      [
        'authorization',
        'cookie',
        'proxy-authorization',
        'stripe-signature',
        'webhook-signature',
        'x-api-key',
        'x-auth-token',
        'x-shopify-hmac-sha256',
        'x-webhook-secret',
      ].sort(),
    );
  });

  it('keeps a header named __proto__ as a plain header', () => {
    const redacted = redactHeaders(JSON.parse('{"__proto__":"x","a":"b"}') as Record<string, string>);
    expect(Object.keys(redacted)).toEqual(['__proto__', 'a']);
  });
});
