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

type PortSpec = string | number | { target: number; published?: string | number; host_ip?: string };

/** Whether Docker publishes this `ports` entry on every interface of the host (which its iptables rules open past any host firewall). */
function onAllInterfaces(port: PortSpec): boolean {
  if (typeof port === 'number') return true;
  if (typeof port === 'object') return port.host_ip === undefined || ['0.0.0.0', '::'].includes(port.host_ip);
  const bracketed = /^\[([^\]]+)\]:/.exec(port);
  const hostIp = bracketed ? bracketed[1] : port.split(':').length === 3 ? port.split(':')[0] : undefined;
  return hostIp === undefined || ['0.0.0.0', '::'].includes(hostIp);
}

interface ComposeService extends Service {
  ports?: PortSpec[];
  volumes?: string[];
  network_mode?: string;
  healthcheck?: { test?: string[] };
  entrypoint?: string[];
}
type ComposeFile = { services: Record<string, ComposeService> };

async function readCompose(file: string): Promise<ComposeFile> {
  return parse(await readFile(path.join(repoRoot, file), 'utf8'), { merge: true }) as ComposeFile;
}

/** Compose's merge of an override file, for the keys these files use: maps merge by key, volumes by target, ports add up, the rest is replaced. */
function mergeCompose(base: ComposeFile, override: ComposeFile): ComposeFile {
  const services: Record<string, ComposeService> = structuredClone(base.services);
  for (const [name, patch] of Object.entries(override.services)) {
    const merged: ComposeService = services[name] ?? {};
    for (const [key, value] of Object.entries(patch) as [keyof ComposeService, unknown][]) {
      const current = merged[key] as unknown;
      if (key === 'environment' || key === 'depends_on' || key === 'healthcheck') {
        Object.assign(merged, { [key]: { ...(current as object), ...(value as object) } });
      } else if (key === 'volumes') {
        const target = (volume: string) => volume.split(':')[1];
        const added = value as string[];
        const kept = ((current as string[] | undefined) ?? []).filter(
          (volume) => !added.some((other) => target(other) === target(volume)),
        );
        merged.volumes = [...kept, ...added];
      } else if (key === 'ports') {
        merged.ports = [...((current as PortSpec[] | undefined) ?? []), ...(value as PortSpec[])];
      } else {
        Object.assign(merged, { [key]: value });
      }
    }
    services[name] = merged;
  }
  return { services };
}

const APPS = ['migrate', 'ingest', 'worker', 'dashboard'];

function publishedOnAllInterfaces(compose: ComposeFile): string[] {
  return Object.entries(compose.services)
    .filter(([, service]) => (service.ports ?? []).some(onAllInterfaces) || service.network_mode === 'host')
    .map(([name]) => name)
    .sort();
}

describe('docker-compose.yml exposes only ingest and the dashboard', async () => {
  const compose = await readCompose('docker-compose.yml');

  it('publishes no port of Redis, CockroachDB, the worker or the migration on any host interface', () => {
    expect(publishedOnAllInterfaces(compose)).toEqual(['dashboard', 'ingest']);
    for (const name of ['redis', 'cockroach', 'worker', 'migrate']) {
      const ports = compose.services[name]?.ports ?? [];
      expect(ports.filter(onAllInterfaces), name).toEqual([]);
    }
  });

  it('reads a port as Docker does: a host address only where one is given', () => {
    expect(onAllInterfaces('26257:26257')).toBe(true);
    expect(onAllInterfaces('8090')).toBe(true);
    expect(onAllInterfaces(8090)).toBe(true);
    expect(onAllInterfaces('0.0.0.0:8090:8080')).toBe(true);
    expect(onAllInterfaces({ target: 8080, published: 8090 })).toBe(true);
    expect(onAllInterfaces('127.0.0.1:8090:8080')).toBe(false);
    expect(onAllInterfaces('[::1]:8090:8080')).toBe(false);
    expect(onAllInterfaces({ target: 8080, published: 8090, host_ip: '127.0.0.1' })).toBe(false);
  });

  it('says in the file that its insecure CockroachDB is for development only, and where the production shape is', async () => {
    const text = await readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    expect(text).toMatch(/DEVELOPMENT ONLY/);
    expect(text).toContain('docker compose -f docker-compose.yml -f deploy/compose/production.yml up -d');
    expect(compose.services.cockroach?.command).toContain('--insecure');
  });
});

describe('the production shape (docker-compose.yml with deploy/compose/production.yml)', async () => {
  const base = await readCompose('docker-compose.yml');
  const override = await readCompose('deploy/compose/production.yml');
  const production = mergeCompose(base, override);
  const { services } = production;
  const everyString = JSON.stringify(production);

  it('overrides only services the base file has, plus the one-shot database setup', () => {
    expect(Object.keys(services).sort()).toEqual([...Object.keys(base.services), 'cockroach-init'].sort());
  });

  it('keeps no development-only setting: no --insecure, no unverified database connection', () => {
    expect(everyString).not.toContain('--insecure');
    expect(everyString).not.toMatch(/sslmode=(disable|allow|prefer|require|verify-ca)\b/);
    expect(everyString).not.toContain('root@cockroach');
    expect(services.cockroach?.healthcheck?.test?.join(' ')).not.toContain('http://');
  });

  it('runs CockroachDB with its certificates, and checks its health over TLS', () => {
    const cockroach = services.cockroach;
    expect(cockroach?.command).toContain('--certs-dir=/cockroach/certs');
    expect(cockroach?.volumes).toContain('./certs:/cockroach/certs:ro');
    expect(cockroach?.healthcheck?.test).toEqual(
      expect.arrayContaining(['--cacert', expect.stringMatching(/^https:/)]),
    );
    expect(services['cockroach-init']?.depends_on?.cockroach?.condition).toBe('service_healthy');
    expect(services['cockroach-init']?.command?.join(' ')).toMatch(/--certs-dir=\/cockroach\/certs/);
  });

  it('has every app verify the database certificate against the CA, logging in with a password, and mounts nothing of ./certs but ca.crt', () => {
    for (const name of APPS) {
      const service = services[name];
      const env = service?.environment ?? {};
      expect(env.DATABASE_URL, name).toMatch(
        /^postgresql:\/\/inlet:\$\{INLET_DB_PASSWORD:\?[^}]+\}@cockroach:26257\/inlet\?sslmode=verify-full$/,
      );
      expect(env.DATABASE_TLS_CA_FILE, name).toBe('/certs/ca.crt');
      const certMounts = (service?.volumes ?? []).filter((volume) => volume.startsWith('./certs'));
      expect(certMounts, name).toEqual(['./certs/ca.crt:/certs/ca.crt:ro']);
    }
    expect(services.migrate?.depends_on?.['cockroach-init']?.condition).toBe(
      'service_completed_successfully',
    );
  });

  it('gives Redis a password that every app uses, and keeps AOF and no eviction', () => {
    const command = services.redis?.command?.join(' ') ?? '';
    expect(command).toMatch(/--requirepass \$\{REDIS_PASSWORD:\?[^}]+\}/);
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    for (const name of APPS) {
      expect(services[name]?.environment?.REDIS_URL, name).toMatch(
        /^redis:\/\/:\$\{REDIS_PASSWORD:\?[^}]+\}@redis:6379$/,
      );
    }
  });

  it('mounts files into the apps and the database read-only (the apps run as node, and write no file)', () => {
    for (const compose of [base, production]) {
      for (const name of [...APPS, 'cockroach', 'cockroach-init']) {
        const binds = (compose.services[name]?.volumes ?? []).filter((volume) => volume.startsWith('./'));
        for (const bind of binds) expect(bind, name).toMatch(/:ro$/);
      }
    }
  });

  it('still publishes only ingest and the dashboard', () => {
    expect(publishedOnAllInterfaces(production)).toEqual(['dashboard', 'ingest']);
    expect(Object.values(override.services).every((service) => service.ports === undefined)).toBe(true);
  });
});
