import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sourcesCheck } from './sources-check.js';

describe('sourcesCheck', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-cli-unit-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists each source with its provider and never a secret', async () => {
    const file = path.join(dir, 'sources.json');
    await writeFile(file, JSON.stringify({ sources: { gh: { provider: 'github', secrets: ['env:S'] } } }));
    const lines = await sourcesCheck(file, { S: 'super-secret' });
    expect(lines[0]).toContain('1 source(s), valid');
    expect(lines[1]).toMatch(/gh\s+github\s+1 secret,/);
    expect(lines.join('\n')).not.toContain('super-secret');
  });
});

describe('sourcesCheck for key-based and URL-signed sources', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-cli-unit-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('describes a jwt source by its keys and issuer, and a twilio source by its signed URL', async () => {
    const file = path.join(dir, 'sources.json');
    await writeFile(
      file,
      JSON.stringify({
        sources: {
          partner: {
            provider: 'jwt',
            jwksUrl: 'https://issuer.example/.well-known/jwks.json',
            issuer: 'https://issuer.example/',
            audience: 'https://hooks.example/webhooks/partner',
          },
          sms: { provider: 'twilio', secrets: ['env:TOKEN'], url: 'https://hooks.example/webhooks/sms' },
        },
      }),
    );
    const lines = await sourcesCheck(file, { TOKEN: 'twilio-token-value' });
    expect(lines[1]).toMatch(
      /partner\s+jwt\s+keys from https:\/\/issuer\.example\/\.well-known\/jwks\.json, issuer https:\/\/issuer\.example\//,
    );
    expect(lines[2]).toMatch(/sms\s+twilio\s+1 secret, signed URL https:\/\/hooks\.example\/webhooks\/sms/);
    expect(lines.join('\n')).not.toContain('twilio-token-value');
  });
});

describe('sourcesCheck with limits and INLET_REQUIRE_ENV_SECRETS', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-cli-unit-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('describes the rate limit and allowed IPs of a source', async () => {
    const file = path.join(dir, 'limits.json');
    await writeFile(
      file,
      JSON.stringify({
        sources: {
          gh: {
            provider: 'github',
            secrets: ['env:S'],
            rateLimit: { points: 50, durationSeconds: 10 },
            allowedIps: ['192.30.252.0/22', '2606:50c0::/32'],
          },
        },
      }),
    );
    const lines = await sourcesCheck(file, { S: 'x' });
    expect(lines[1]).toMatch(/, rate limit 50 per 10 s, allowed IPs 192\.30\.252\.0\/22 2606:50c0::\/32$/);
  });

  it('refuses a literal secret when INLET_REQUIRE_ENV_SECRETS is on, naming the field and not the value', async () => {
    const file = path.join(dir, 'literal.json');
    await writeFile(
      file,
      JSON.stringify({ sources: { pay: { provider: 'stripe', secrets: ['env:S', 'whsec_literal_value'] } } }),
    );
    await expect(sourcesCheck(file, { S: 'x' })).resolves.toHaveLength(2);
    const check = sourcesCheck(file, { S: 'x', INLET_REQUIRE_ENV_SECRETS: 'true' });
    await expect(check).rejects.toThrow(/sources\.pay\.secrets\[1\]: must be an env:NAME reference/);
    await expect(check).rejects.not.toThrow(/whsec_literal_value/);
    await expect(sourcesCheck(file, { INLET_REQUIRE_ENV_SECRETS: 'maybe' })).rejects.toThrow(
      /^INLET_REQUIRE_ENV_SECRETS: must be true or false/,
    );
  });
});
