import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { benchSourcesFile, defaultIngestSettings, startIngest } from './ingest-process.js';
import { freePort } from './server-process.js';

// Stands for an ingest build that predates per-source rate limits and the backlog bound: it
// refuses them at start the way ingest refuses any unknown setting, with one line naming it.
const olderIngest = `
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
if (readFileSync(process.env.INLET_SOURCES, 'utf8').includes('rateLimit')) {
  process.stderr.write('inlet ingest: sources.bench.rateLimit: unrecognized key\\n');
  process.exit(1);
}
if (process.env.INLET_MAX_BACKLOG) {
  process.stderr.write('inlet ingest: INLET_MAX_BACKLOG: unknown setting\\n');
  process.exit(1);
}
const server = createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

describe('startIngest', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a sources file with a rate limit high enough never to refuse', () => {
    expect(JSON.parse(benchSourcesFile({ sourceRateLimit: true }))).toEqual({
      sources: {
        bench: {
          provider: 'standard-webhooks',
          secrets: ['env:INLET_BENCH_SECRET'],
          toleranceSeconds: 300,
          rateLimit: { points: 1_000_000, durationSeconds: 1 },
        },
      },
    });
  });

  it('drops the settings an older ingest refuses, says so, and still starts it', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inlet-bench-ingest-'));
    const script = path.join(dir, 'older-ingest.mjs');
    await writeFile(script, olderIngest);
    const settings = defaultIngestSettings();
    const ingest = await startIngest({
      label: 'ingest',
      script,
      cwd: dir,
      sourcesFile: path.join(dir, 'inlet.sources.json'),
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      redisUrl: 'redis://127.0.0.1:6379',
      queue: { name: 'unused', prefix: '{unused}' },
      port: await freePort(),
      logFile: path.join(dir, 'ingest.log'),
      baseEnv: { PATH: process.env.PATH },
      settings,
    });
    await ingest.stop();
    expect(settings).toMatchObject({ sourceRateLimit: false, defaultRateLimit: true, maxBacklog: false });
    expect(settings.notes).toEqual([
      expect.stringContaining('rateLimit'),
      expect.stringContaining('INLET_MAX_BACKLOG'),
    ]);
  });
});
