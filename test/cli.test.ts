import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exited } from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from './support.js';

describe('inlet CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cli = async (args: string[], env: Record<string, string> = {}) => {
    const run = runNode('apps/cli/dist/main.js', env, args);
    const code = await exited(run.child);
    return { code, output: run.output() };
  };

  it('lists its commands', async () => {
    const { code, output } = await cli(['--help']);
    expect(code).toBe(0);
    expect(output).toMatch(/send/);
    expect(output).toMatch(/migrate/);
    expect(output).toMatch(/sources check/);
  });

  it('checks a valid sources file without printing secrets', async () => {
    const file = path.join(dir, 'good.json');
    await writeFile(
      file,
      JSON.stringify({
        sources: {
          gh: { provider: 'github', secrets: ['env:CLI_TEST_SECRET'] },
          pay: { provider: 'stripe', secrets: ['whsec_literal_secret_value'] },
        },
      }),
    );
    const { code, output } = await cli(['sources', 'check', file], { CLI_TEST_SECRET: 'very-secret-value' });
    expect(code).toBe(0);
    expect(output).toMatch(/gh\s+github/);
    expect(output).toMatch(/pay\s+stripe/);
    expect(output).not.toContain('very-secret-value');
    expect(output).not.toContain('whsec_literal_secret_value');
  });

  it('names the bad field of an invalid sources file', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({ sources: { gh: { provider: 'github', secrets: ['env:CLI_UNSET_VAR'] } } }),
    );
    const unset = await cli(['sources', 'check', file]);
    expect(unset.code).toBe(2);
    expect(unset.output).toContain('sources.gh.secrets[0]: environment variable CLI_UNSET_VAR is not set');

    await writeFile(
      file,
      JSON.stringify({ sources: { gh: { provider: 'github', secrets: ['x'], tolerance: 5 } } }),
    );
    const unknown = await cli(['sources', 'check', file]);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/sources\.gh: unknown field\(s\) tolerance/);

    await writeFile(file, JSON.stringify({ sources: { gh: { provider: 'gitlab', secrets: ['x'] } } }));
    const provider = await cli(['sources', 'check', file]);
    expect(provider.output).toMatch(/sources\.gh\.provider: must be one of/);
  });

  it('explains an unknown command', async () => {
    const { code, output } = await cli(['frobnicate']);
    expect(code).toBe(2);
    expect(output).toMatch(/unknown command "frobnicate"/);
  });
});
