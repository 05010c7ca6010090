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
