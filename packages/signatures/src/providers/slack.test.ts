import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDeliveryRequest } from '../delivery-request.js';
import { slack } from './slack.js';

const failsWith = (code: string) => expect.objectContaining({ name: 'SignatureError', code });
const payloadError = expect.objectContaining({ name: 'PayloadError', code: 'invalid_payload' });

// The example from Slack's "Verifying requests from Slack" documentation.
const docsSecret = '8f742231b10e8888abcd99yyyzzz85a5';
const docsTimestamp = 1531420618;
const docsBody =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const docsSignature = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const secret = 'slack-signing-secret-0123456789';
const timestamp = 1_700_000_000;
const now = timestamp * 1000;
const source = { secrets: [secret], toleranceSeconds: 300 };
const eventBody = JSON.stringify({
  token: 'XXYYZZ',
  team_id: 'T123ABC456',
  type: 'event_callback',
  event: { type: 'app_mention', user: 'U123ABC456', text: 'hi', ts: '1515449522.000016' },
  event_id: 'Ev123ABC456',
  event_time: 1515449522,
});

function slackSignature(key: string, t: number | string, content: string): string {
  return `v0=${createHmac('sha256', key).update(`v0:${t}:${content}`).digest('hex')}`;
}

function request(headers: Record<string, string>, requestBody: string, at = now) {
  return createDeliveryRequest({ body: requestBody, headers, now: at });
}

function signedRequest(requestBody: string, options: { key?: string; t?: number; at?: number } = {}) {
  const t = options.t ?? timestamp;
  return request(
    {
      'X-Slack-Signature': slackSignature(options.key ?? secret, t, requestBody),
      'X-Slack-Request-Timestamp': String(t),
    },
    requestBody,
    options.at ?? now,
  );
}

describe('slack', () => {
  it('signs the documentation example', () => {
    const headers = slack.sign(
      { body: docsBody, secret: docsSecret, timestamp: docsTimestamp, id: 'unused' },
      source,
    );
    expect(headers).toEqual({
      'X-Slack-Signature': docsSignature,
      'X-Slack-Request-Timestamp': String(docsTimestamp),
    });
  });

  it('verifies the documentation example, a slash command without a delivery id', () => {
    const headers = {
      'X-Slack-Signature': docsSignature,
      'X-Slack-Request-Timestamp': String(docsTimestamp),
    };
    const verified = slack.verify(request(headers, docsBody, docsTimestamp * 1000), {
      ...source,
      secrets: [docsSecret],
    });
    expect(verified).toEqual({ eventType: '/webhook-collect' });
    expect(verified.eventId).toBeUndefined();
  });

  it('reads the event id and the inner event type of an Events API delivery', () => {
    expect(slack.verify(signedRequest(eventBody), source)).toEqual({
      eventId: 'Ev123ABC456',
      eventType: 'app_mention',
    });
  });

  it('falls back to the top-level type when there is no inner event', () => {
    const rateLimited =
      '{"token":"x","type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820}';
    expect(slack.verify(signedRequest(rateLimited), source)).toEqual({
      eventId: undefined,
      eventType: 'app_rate_limited',
    });
  });

  it("reads an interactivity payload's type", () => {
    const payload = JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, actions: [] });
    const form = new URLSearchParams({ payload }).toString();
    expect(slack.verify(signedRequest(form), source)).toEqual({ eventType: 'block_actions' });
  });

  it('accepts bodies that are neither JSON nor known form fields', () => {
    expect(slack.verify(signedRequest('just some text'), source)).toEqual({ eventType: undefined });
    expect(slack.verify(signedRequest('payload=%7Bnot+json'), source)).toEqual({ eventType: undefined });
    expect(slack.verify(signedRequest(''), source)).toEqual({ eventType: undefined });
  });

  it('reads header names in any case', () => {
    const headers = {
      'x-slack-signature': slackSignature(secret, timestamp, eventBody),
      'X-SLACK-REQUEST-TIMESTAMP': String(timestamp),
    };
    expect(slack.verify(request(headers, eventBody), source)).toMatchObject({ eventId: 'Ev123ABC456' });
  });

  it('round-trips sign and verify', () => {
    const headers = slack.sign({ body: eventBody, secret, timestamp, id: 'unused' }, source);
    expect(slack.verify(request(headers, eventBody), source)).toEqual({
      eventId: 'Ev123ABC456',
      eventType: 'app_mention',
    });
  });

  describe('url_verification', () => {
    const challengeBody = JSON.stringify({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });

    it('answers the challenge once the signature verifies', () => {
      expect(slack.verify(signedRequest(challengeBody), source)).toEqual({
        eventType: 'url_verification',
        handshake: {
          status: 200,
          contentType: 'application/json',
          body: '{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
        },
      });
    });

    it('does not answer a forged challenge', () => {
      expect(() => slack.verify(signedRequest(challengeBody, { key: 'not the secret' }), source)).toThrow(
        failsWith('invalid_signature'),
      );
      expect(() => slack.verify(request({}, challengeBody), source)).toThrow(failsWith('missing_signature'));
    });

    it('does not answer a late challenge', () => {
      expect(() => slack.verify(signedRequest(challengeBody, { t: timestamp - 301 }), source)).toThrow(
        failsWith('timestamp_out_of_tolerance'),
      );
    });

    it('refuses a signed url_verification without a challenge as invalid_payload', () => {
      const noChallenge = '{"type":"url_verification","challenge":42}';
      expect(() => slack.verify(signedRequest(noChallenge), source)).toThrow(payloadError);
    });
  });

  it('refuses a tampered body', () => {
    const headers = {
      'X-Slack-Signature': slackSignature(secret, timestamp, eventBody),
      'X-Slack-Request-Timestamp': String(timestamp),
    };
    expect(() => slack.verify(request(headers, eventBody.replace('hi', 'ho')), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('refuses a tampered timestamp', () => {
    const headers = {
      'X-Slack-Signature': slackSignature(secret, timestamp, eventBody),
      'X-Slack-Request-Timestamp': String(timestamp + 1),
    };
    expect(() => slack.verify(request(headers, eventBody), source)).toThrow(failsWith('invalid_signature'));
  });

  it('refuses a wrong secret', () => {
    expect(() => slack.verify(signedRequest(eventBody, { key: 'another secret' }), source)).toThrow(
      failsWith('invalid_signature'),
    );
  });

  it('accepts the old and the new secret while both are configured (rotation)', () => {
    const rotated = { ...source, secrets: ['the new secret', secret] };
    expect(() => slack.verify(signedRequest(eventBody), rotated)).not.toThrow();
    expect(() => slack.verify(signedRequest(eventBody, { key: 'the new secret' }), rotated)).not.toThrow();
  });

  it('refuses a stale timestamp', () => {
    expect(() => slack.verify(signedRequest(eventBody, { t: timestamp - 301 }), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('refuses a timestamp in the future', () => {
    expect(() => slack.verify(signedRequest(eventBody, { t: timestamp + 301 }), source)).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
  });

  it('accepts timestamps at the edges of the window', () => {
    expect(() => slack.verify(signedRequest(eventBody, { t: timestamp - 300 }), source)).not.toThrow();
    expect(() => slack.verify(signedRequest(eventBody, { t: timestamp + 300 }), source)).not.toThrow();
  });

  it("uses the source's tolerance", () => {
    const old = signedRequest(eventBody, { t: timestamp - 60 });
    expect(() => slack.verify(old, { ...source, toleranceSeconds: 30 })).toThrow(
      failsWith('timestamp_out_of_tolerance'),
    );
    expect(() => slack.verify(old, { ...source, toleranceSeconds: 600 })).not.toThrow();
  });

  it('checks the signature before the clock, so a forged stale request is a signature failure', () => {
    const forged = signedRequest(eventBody, { key: 'forger', t: timestamp - 10_000 });
    expect(() => slack.verify(forged, source)).toThrow(failsWith('invalid_signature'));
  });

  it('reports missing headers', () => {
    const signature = slackSignature(secret, timestamp, eventBody);
    expect(() => slack.verify(request({}, eventBody), source)).toThrow(failsWith('missing_signature'));
    expect(() =>
      slack.verify(request({ 'X-Slack-Request-Timestamp': String(timestamp) }, eventBody), source),
    ).toThrow(failsWith('missing_signature'));
    expect(() => slack.verify(request({ 'X-Slack-Signature': signature }, eventBody), source)).toThrow(
      failsWith('missing_signature'),
    );
  });

  const good = slackSignature(secret, timestamp, eventBody);
  it.each([
    ['no prefix', good.slice(3)],
    ['another version', `v1=${good.slice(3)}`],
    ['an upper-case prefix', `V0=${good.slice(3)}`],
    ['an empty digest', 'v0='],
    ['odd-length hex', good.slice(0, -1)],
    ['non-hex characters', `${good.slice(0, -2)}zz`],
    ['a short digest', 'v0=abcd'],
    ['a huge value', `v0=${'a'.repeat(9000)}`],
  ])('refuses a signature with %s as invalid_signature', (_case, value) => {
    const headers = { 'X-Slack-Signature': value, 'X-Slack-Request-Timestamp': String(timestamp) };
    expect(() => slack.verify(request(headers, eventBody), source)).toThrow(failsWith('invalid_signature'));
  });

  it.each([
    ['a non-numeric timestamp', 'yesterday'],
    ['a fractional timestamp', `${timestamp}.5`],
    ['a negative timestamp', `-${timestamp}`],
    ['a huge timestamp', '9'.repeat(9000)],
  ])('refuses %s as invalid_signature', (_case, value) => {
    const headers = {
      'X-Slack-Signature': slackSignature(secret, value, eventBody),
      'X-Slack-Request-Timestamp': value,
    };
    expect(() => slack.verify(request(headers, eventBody), source)).toThrow(failsWith('invalid_signature'));
  });

  it('lists its credential header', () => {
    expect(slack.credentialHeaders).toEqual(['x-slack-signature']);
  });
});
