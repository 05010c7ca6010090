import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateJwtKeyPair, generateStandardWebhooksKeyPair } from '@inlet/signatures';
import { exited, type TestDatabase, waitFor } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, type Stack, startStack } from './support.js';

const whsec = `whsec_${Buffer.from('providers e2e key material').toString('base64')}`;
const ed25519 = generateStandardWebhooksKeyPair();
const partnerKeys = await generateJwtKeyPair('ES256');

/** One source per provider, configured as the README shows. */
const sources: Record<string, Record<string, unknown>> = {
  stripe: { provider: 'stripe', secrets: ['whsec_stripe_e2e'] },
  github: { provider: 'github', secrets: ['env:E2E_SECRET'] },
  shopify: { provider: 'shopify', secrets: ['shpss_e2e'] },
  slack: { provider: 'slack', secrets: ['slack-signing-secret'] },
  twilio: {
    provider: 'twilio',
    secrets: ['twilio-auth-token'],
    url: 'https://hooks.example.com/webhooks/twilio',
  },
  'standard-webhooks': { provider: 'standard-webhooks', secrets: [whsec] },
  'sw-ed25519': { provider: 'standard-webhooks', secrets: [ed25519.publicKey] },
  svix: { provider: 'svix', secrets: [whsec] },
  paddle: { provider: 'paddle', secrets: ['pdl_ntfset_e2e'] },
  square: { provider: 'square', secrets: ['square-key'], url: 'https://hooks.example.com/webhooks/square' },
  linear: { provider: 'linear', secrets: ['lin_wh_e2e'] },
  zoom: { provider: 'zoom', secrets: ['zoom-secret-token'] },
  twitch: { provider: 'twitch', secrets: ['twitch-secret-e2e'] },
  hmac: { provider: 'hmac', secrets: ['partner-secret'], header: 'X-Partner-Signature', prefix: 'sha256=' },
};
const jwtSource = {
  provider: 'jwt',
  issuer: 'https://partner.example/',
  audience: 'https://hooks.example.com/webhooks/partner',
  publicKeys: [partnerKeys.publicJwk],
  requireJti: true,
  bodyHashClaim: 'body_sha256',
};

describe('inlet send signs for every provider, and the real ingest verifies it', () => {
  let stack: Stack;
  let db: TestDatabase;
  let keyFile: string;
  let jwtKeyFile: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    stack = await startStack({
      sources: { ...sources, partner: jwtSource },
      extraEnv: { E2E_SECRET: 'github-e2e-secret' },
    });
    ({ db, env } = stack);
    keyFile = path.join(stack.dir, 'ed25519.key');
    await writeFile(keyFile, ed25519.secretKey);
    jwtKeyFile = path.join(stack.dir, 'partner.jwk.json');
    await writeFile(jwtKeyFile, JSON.stringify(partnerKeys.privateJwk));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const send = async (args: string[]) => {
    const run = runNode('apps/cli/dist/main.js', env, ['send', ...args]);
    const code = await exited(run.child);
    return { code, output: run.output().trim() };
  };

  const eventSources = Object.keys(sources);
  it.each(eventSources)('%s: a signed delivery is accepted and stored once', async (name) => {
    const args = ['--source', name, ...(name === 'sw-ed25519' ? ['--key', keyFile] : [])];
    const first = await send(args);
    expect(first.output).toMatch(/^202 \{"id":".+"\}$/);
    expect(first.code).toBe(0);
    const tampered = await send([...args, '--tamper']);
    expect(tampered.code).toBe(1);
    expect(tampered.output).toMatch(/^401 .*"invalid_signature"/);
    await waitFor(
      async () => (await db.sql`select 1 from webhook_events where source = ${name}`).length === 1,
      15_000,
      `the ${name} row`,
    );
  });

  it('jwt: a partner token is accepted once, bound to its body', async () => {
    const args = [
      '--source',
      'partner',
      '--key',
      jwtKeyFile,
      '--data',
      '{"order":"A-1"}',
      '--id',
      'jti-e2e-1',
    ];
    const first = await send(args);
    expect(first.output).toBe('202 {"id":"jti-e2e-1"}');
    const replay = await send(args);
    expect(replay.output).toMatch(/^401 .*"invalid_token"/);
    const tampered = await send([
      '--source',
      'partner',
      '--key',
      jwtKeyFile,
      '--id',
      'jti-e2e-2',
      '--tamper',
    ]);
    expect(tampered.output).toMatch(/^401 .*"invalid_token"/);
    const unsigned = await send(['--source', 'partner', '--secret', 'not-a-key']);
    expect(unsigned.code).not.toBe(0);
    await waitFor(
      async () => (await db.sql`select 1 from webhook_events where source = 'partner'`).length === 1,
      15_000,
      'the partner row',
    );
  });

  it('refuses a replayed timestamp for every scheme that signs one', async () => {
    for (const name of ['stripe', 'slack', 'standard-webhooks', 'svix', 'paddle', 'zoom', 'twitch']) {
      const stale = await send([
        '--source',
        name,
        '--timestamp',
        String(Math.floor(Date.now() / 1000) - 3600),
      ]);
      expect(stale.output, name).toMatch(/^401 .*"timestamp_out_of_tolerance"/);
    }
  });

  it('answers handshakes without queueing them', async () => {
    const slack = await send([
      '--source',
      'slack',
      '--data',
      '{"type":"url_verification","challenge":"ch4ll3nge"}',
    ]);
    expect(slack.output).toBe('200 {"challenge":"ch4ll3nge"}');
    const zoom = await send([
      '--source',
      'zoom',
      '--data',
      '{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680}',
    ]);
    expect(zoom.output).toMatch(
      /^200 \{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"[0-9a-f]{64}"\}$/,
    );
    const forged = await send([
      '--source',
      'zoom',
      '--secret',
      'not-the-secret',
      '--data',
      '{"event":"endpoint.url_validation","payload":{"plainToken":"x"}}',
    ]);
    expect(forged.output).toMatch(/^401 /);
    const rows =
      await db.sql`select 1 from webhook_events where body like '%url_validation%' or body like '%url_verification%'`;
    expect(rows).toHaveLength(0);
  });
});
