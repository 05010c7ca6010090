import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { workerNodeFlags } from '@inlet/worker';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './support.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

describe('docker-compose.yml', async () => {
  const compose = parse(await readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<string, Service>;
  };
  const { services } = compose;

  it('has the production shape: Redis, CockroachDB, a one-shot migrate, ingest, worker and dashboard', () => {
    expect(Object.keys(services).sort()).toEqual([
      'cockroach',
      'dashboard',
      'ingest',
      'migrate',
      'redis',
      'worker',
    ]);
  });

  it('runs Redis with AOF and no eviction', () => {
    const command = services.redis?.command?.join(' ') ?? '';
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
  });

  it('points the apps at CockroachDB and Redis', () => {
    for (const name of ['migrate', 'ingest', 'worker', 'dashboard']) {
      const env = services[name]?.environment ?? {};
      expect(env.DATABASE_URL).toMatch(/^postgresql:\/\/root@cockroach:26257\/inlet/);
      expect(env.REDIS_URL).toBe('redis://redis:6379');
    }
    expect(services.cockroach?.command).toContain('start-single-node');
  });

  it('runs commands that exist in the built repository', () => {
    for (const name of ['migrate', 'ingest', 'worker', 'dashboard']) {
      const [binary, ...rest] = services[name]?.command ?? [];
      const script = rest.find((argument) => !argument.startsWith('-'));
      expect(binary).toBe('node');
      expect(existsSync(path.join(repoRoot, script ?? 'missing'))).toBe(true);
    }
    expect(services.migrate?.command).toContain('migrate');
  });

  it('starts the worker with its Node options, as its start script does', async () => {
    const worker = JSON.parse(await readFile(path.join(repoRoot, 'apps/worker/package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    expect(services.worker?.command).toEqual(['node', ...workerNodeFlags, 'apps/worker/dist/main.js']);
    expect(worker.scripts.start).toBe(['node', ...workerNodeFlags, 'dist/main.js'].join(' '));
  });

  it('starts the worker only after the migration succeeded', () => {
    expect(services.worker?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(services.dashboard?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    expect(services.migrate?.depends_on?.cockroach?.condition).toBe('service_healthy');
  });

  it('builds from a Dockerfile that builds the apps', async () => {
    const dockerfile = await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm (ci|install)/);
    expect(dockerfile).toMatch(/npm run build/);
  });
});
