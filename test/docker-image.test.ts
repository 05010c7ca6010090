import { execFileSync, execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createTestDatabase,
  exited,
  freePort,
  type TestDatabase,
  testRedisUrl,
  uniqueQueue,
} from '@inlet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type RunningProcess, removeQueue, repoRoot, runNodeIn, waitHealthy } from './support.js';

// Docker cannot run on every machine that runs these tests, so they read the Dockerfile and
// .dockerignore and replay what a build would do: which files the build context holds, what
// the production install puts in node_modules, and whether the assembled image's apps start.

// A CommonJS module (module.exports = factory) whose types describe an ES default export.
const ignore = createRequire(import.meta.url)(
  '@balena/dockerignore',
) as typeof import('@balena/dockerignore').default;

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}
interface Stage {
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const stages: { name: string | undefined; instructions: Instruction[] }[] = [];
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      stages.push({ name: /\bAS\s+(\S+)$/i.exec(args)?.[1], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: string[];
  readonly destination: string;
}

function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
}

const copies = (stage: Stage) =>
  stage.instructions
    .filter((instruction) => instruction.keyword === 'COPY')
    .map((copy) => parseCopy(copy.args));

const dockerfile = parseDockerfile(await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const finalStage = dockerfile.at(-1) as Stage;
const stageNamed = (name: string) => {
  const stage = dockerfile.find((candidate) => candidate.name === name);
  if (!stage) throw new Error(`the Dockerfile has no stage ${name}`);
  return stage;
};
const contextRules = ignore().add(await readFile(path.join(repoRoot, '.dockerignore'), 'utf8'));
const inContext = (relative: string) => relative === '' || !contextRules.ignores(relative);

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  files?: string[];
  packageManager?: string;
}
const readManifest = async (dir: string) =>
  JSON.parse(await readFile(path.join(repoRoot, dir, 'package.json'), 'utf8')) as Manifest;

/** Workspace folder by package name, for every workspace of the repository. */
async function workspaces(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const parent of ['apps', 'packages']) {
    for (const entry of await readdir(path.join(repoRoot, parent))) {
      const dir = `${parent}/${entry}`;
      if (existsSync(path.join(repoRoot, dir, 'package.json')))
        found.set((await readManifest(dir)).name, dir);
    }
  }
  return found;
}

/** The apps and the workspaces they need at run time (production dependencies, transitively). */
async function runtimeWorkspaces(): Promise<string[]> {
  const all = await workspaces();
  const needed = new Set<string>();
  const visit = async (dir: string) => {
    if (needed.has(dir)) return;
    needed.add(dir);
    for (const dependency of Object.keys((await readManifest(dir)).dependencies ?? {})) {
      const workspace = all.get(dependency);
      if (workspace) await visit(workspace);
    }
  };
  for (const dir of all.values()) if (dir.startsWith('apps/')) await visit(dir);
  return [...needed].sort();
}

describe('the Dockerfile', () => {
  it('runs the final image as the unprivileged node user', () => {
    const users = finalStage.instructions.filter((instruction) => instruction.keyword === 'USER');
    expect(users.map((user) => user.args)).toEqual(['node']);
    const last = finalStage.instructions.findLastIndex((instruction) =>
      ['COPY', 'RUN', 'ADD'].includes(instruction.keyword),
    );
    expect(
      finalStage.instructions.findIndex((instruction) => instruction.keyword === 'USER'),
    ).toBeGreaterThan(last);
  });

  it('never copies the build context wholesale, and the final stage copies only from earlier stages', () => {
    for (const stage of dockerfile) {
      expect(stage.instructions.filter((instruction) => instruction.keyword === 'ADD')).toEqual([]);
      for (const copy of copies(stage).filter((each) => each.from === undefined)) {
        for (const source of copy.sources)
          expect(source, `${stage.name} copies ${source}`).not.toMatch(/^(\.|\.\/|\*|\/)$/);
      }
    }
    expect(copies(finalStage).filter((copy) => copy.from === undefined)).toEqual([]);
  });

  it('copies each workspace the apps need at run time (its package.json and published files), and no other', async () => {
    const needed = await runtimeWorkspaces();
    expect(needed).toEqual(
      expect.arrayContaining(['apps/ingest', 'apps/worker', 'apps/dashboard', 'apps/cli']),
    );
    expect(needed).not.toContain('packages/testkit');
    const manifests = copies(stageNamed('runtime-deps'))
      .flatMap((copy) => copy.sources)
      .filter((source) => source.endsWith('/package.json'))
      .map((source) => path.dirname(source))
      .sort();
    expect(manifests).toEqual(needed);
    const fromBuild = copies(finalStage)
      .filter((copy) => copy.from === 'build')
      .flatMap((copy) => copy.sources.map((source) => path.posix.relative('/app', source)));
    for (const dir of needed) {
      for (const file of (await readManifest(dir)).files ?? []) {
        expect(fromBuild, `${dir}/${file}`).toContain(`${dir}/${file}`);
      }
    }
    const copiedWorkspaces = new Set(fromBuild.map((file) => file.split('/').slice(0, 2).join('/')));
    expect([...copiedWorkspaces].sort()).toEqual(needed);
  });

  it('pins the npm that package.json names', async () => {
    const root = await readManifest('.');
    const pinned = stageNamed('npm').instructions.find((instruction) => instruction.keyword === 'RUN')?.args;
    expect(pinned).toContain(`npm install --global ${root.packageManager}`);
  });
});

describe('.dockerignore', () => {
  it('keeps secrets, keys, local state and installed modules out of the build context', () => {
    for (const file of [
      '.env',
      '.env.production',
      '.env.local',
      'apps/ingest/.env',
      'packages/config/.env.test',
      'inlet.sources.json',
      'prod.sources.json',
      'config/inlet.sources.json',
      'apps/worker/inlet.sources.json',
      'packages/config/partner.sources.json',
      'certs/key.pem',
      'certs/ca.crt',
      'certs/node.key',
      'apps/ingest/tls/privkey.pem',
      'packages/signatures/partner.jwk.json',
      'packages/db/client.p12',
      '.inlet/state.json',
      '.git/config',
      'node_modules/zod/package.json',
      'apps/dashboard/node_modules/playwright-core/package.json',
      'apps/ingest/dist/main.js',
      'docker-compose.override.yml',
      'deploy/compose/production.yml',
      'bench/results/run.json',
      'test/compose.test.ts',
    ]) {
      expect(inContext(file), file).toBe(false);
    }
  });

  it('sends every file the Dockerfile copies from the context, and all of the apps and packages sources', () => {
    const tracked = execFileSync('git', ['ls-files', 'apps', 'packages'], { cwd: repoRoot, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(tracked.length).toBeGreaterThan(100);
    expect(tracked.filter((file) => !inContext(file))).toEqual([]);
    for (const stage of dockerfile) {
      for (const copy of copies(stage).filter((each) => each.from === undefined)) {
        for (const source of copy.sources) {
          expect(existsSync(path.join(repoRoot, source)), source).toBe(true);
          expect(inContext(source), source).toBe(true);
        }
      }
    }
  });
});

// ---- replaying the build: the runtime-deps stage for real, then the final stage's copies ----

/** A build stage replayed in `root` (its WORKDIR /app), reading the context from the repository. */
async function replayStage(stage: Stage, root: string, stageRoots: Record<string, string>): Promise<void> {
  const onContext = (source: string) => {
    const relative = path.relative(repoRoot, source);
    return inContext(relative.split(path.sep).join('/'));
  };
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'WORKDIR') expect(args).toBe('/app');
    if (keyword === 'RUN') {
      execSync(args, {
        cwd: root,
        stdio: 'pipe',
        env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
      });
    }
    if (keyword !== 'COPY') continue;
    const copy = parseCopy(args);
    const fromRoot = copy.from === undefined ? repoRoot : stageRoots[copy.from];
    if (fromRoot === undefined) throw new Error(`no replayed stage ${copy.from}`);
    const destination = path.join(
      root,
      path.posix.relative('/app', path.posix.resolve('/app', copy.destination)),
    );
    for (const source of copy.sources) {
      const from = path.join(
        fromRoot,
        copy.from === undefined ? source : path.posix.relative('/app', source),
      );
      const isDirectory = (await readdir(from).catch(() => undefined)) !== undefined;
      // COPY puts a directory's contents at the destination, and a file into a destination ending in /.
      const to =
        !isDirectory && copy.destination.endsWith('/')
          ? path.join(destination, path.basename(from))
          : destination;
      await mkdir(path.dirname(to), { recursive: true });
      await cp(from, to, {
        recursive: true,
        verbatimSymlinks: true,
        ...(copy.from === undefined ? { filter: onContext } : {}),
      });
    }
  }
}

/** A command of the image, run in its WORKDIR with only the environment given (and PATH). */
function runIn(
  dir: string,
  command: { flags: string[]; script: string; args: string[] },
  env: Record<string, string>,
): RunningProcess {
  return runNodeIn(dir, [...command.flags, path.join(dir, command.script), ...command.args], {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    ...env,
  });
}

describe('the image the Dockerfile builds, replayed without Docker', () => {
  let scratch: string;
  let runtimeDeps: string;
  let image: string;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'inlet-image-'));
    runtimeDeps = path.join(scratch, 'runtime-deps');
    image = path.join(scratch, 'image');
    await mkdir(runtimeDeps);
    await mkdir(image);
    const pinned = stageNamed('npm').instructions[0]?.args.match(/npm@(\S+)/)?.[1];
    // The replay is only faithful with the npm the image uses.
    expect(execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim()).toBe(pinned);
    await replayStage(stageNamed('runtime-deps'), runtimeDeps, {});
    // This repository, built, stands in for the build stage.
    await replayStage(finalStage, image, { 'runtime-deps': runtimeDeps, build: repoRoot });
  }, 180_000);
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('installs the apps production dependencies and no test, bench or build tool', async () => {
    const modules = path.join(image, 'node_modules');
    for (const absent of [
      'autocannon',
      'playwright-core',
      'vitest',
      'typescript',
      'turbo',
      '@biomejs',
      'fast-check',
      'yaml',
      '@balena',
      '@types',
      '@inlet/testkit',
      '@inlet/e2e',
      '@inlet/bench',
    ]) {
      expect(existsSync(path.join(modules, absent)), absent).toBe(false);
    }
    for (const present of [
      'bullmq',
      'ioredis',
      'postgres',
      'hono',
      'jose',
      'zod',
      'pino',
      '@bull-board/ui',
    ]) {
      expect(existsSync(path.join(modules, present)), present).toBe(true);
    }
    expect(await readdir(path.join(modules, '@inlet'))).toEqual(
      (await runtimeWorkspaces()).map((dir) => dir.split('/')[1]).sort(),
    );
    // The root's postinstall patch, run by hand since the install skips scripts.
    expect(await readFile(path.join(modules, 'postgres/src/connection.js'), 'utf8')).toContain(
      'inlet: null-socket guard',
    );
  });

  it('holds no source, test or secret: only manifests, compiled code, migrations and node_modules', async () => {
    const files = (await readdir(image, { recursive: true })).filter(
      (file) => !file.startsWith('node_modules') && !file.includes(`${path.sep}dist${path.sep}`),
    );
    for (const file of files) {
      expect(file, file).not.toMatch(/(\.ts$|\.test\.|\.env|sources\.json|\.pem$|\.key$)/);
    }
    expect(existsSync(path.join(image, 'packages/db/migrations'))).toBe(true);
    expect(existsSync(path.join(image, 'apps/ingest/src'))).toBe(false);
  });

  it('runs every compose command: the migration, ingest, worker and dashboard start and become ready', async () => {
    const compose = parse(await readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as {
      services: Record<string, { command?: string[]; build?: string }>;
    };
    const command = (name: string) => {
      const [binary, ...rest] = compose.services[name]?.command ?? [];
      expect(binary).toBe('node');
      const script = rest.find((argument) => !argument.startsWith('-')) ?? '';
      return {
        flags: rest.slice(0, rest.indexOf(script)),
        script,
        args: rest.slice(rest.indexOf(script) + 1),
      };
    };
    const db: TestDatabase = await createTestDatabase();
    const queue = uniqueQueue();
    const running: RunningProcess[] = [];
    try {
      const [port, workerPort, dashboardPort] = [await freePort(), await freePort(), await freePort()];
      const sourcesFile = path.join(scratch, 'inlet.sources.json');
      await writeFile(
        sourcesFile,
        JSON.stringify({ sources: { gh: { provider: 'github', secrets: ['env:GH'] } } }),
      );
      const env = {
        REDIS_URL: testRedisUrl(),
        DATABASE_URL: db.url,
        INLET_SOURCES: sourcesFile,
        INLET_QUEUE: queue.name,
        INLET_QUEUE_PREFIX: queue.prefix,
        GH: 'github-secret',
      };
      const migration = runIn(image, command('migrate'), env);
      expect(await exited(migration.child), migration.output()).toBe(0);

      const start = (name: string, extra: Record<string, string>) => {
        const child = runIn(image, command(name), { ...env, ...extra });
        running.push(child);
        return child;
      };
      const ingest = start('ingest', { PORT: String(port) });
      const worker = start('worker', { WORKER_METRICS_PORT: String(workerPort) });
      const password = randomBytes(16).toString('hex');
      const dashboard = start('dashboard', {
        DASHBOARD_PORT: String(dashboardPort),
        DASHBOARD_PASSWORD: password,
        INLET_INGEST_METRICS_URL: 'off',
      });
      const ready = async (url: string, process: RunningProcess, headers: Record<string, string> = {}) =>
        waitHealthy(url, process, 60_000, headers).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}\n${process.output()}`);
        });
      await ready(`http://127.0.0.1:${port}/readyz`, ingest);
      await ready(`http://127.0.0.1:${workerPort}/readyz`, worker);
      await ready(`http://127.0.0.1:${dashboardPort}/readyz`, dashboard, {
        authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`,
      });
    } finally {
      for (const process of running) await process.stop();
      await removeQueue(queue);
      await db.drop();
    }
  });
});
