// Finds Redis and PostgreSQL for `npm start` and `npm test`, or starts private ones from the
// system's binaries with their data under .inlet/. Plain Node: it runs before anything is built.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/inlet';

const isRoot = process.getuid?.() === 0;

function log(message) {
  process.stdout.write(`inlet: ${message}\n`);
}

/** Sends PING over a plain socket; true on +PONG (or an auth error, which still means Redis). */
export function redisAnswers(url, timeoutMs = 1000) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, ''));
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

/** True when a PostgreSQL server accepts `url`'s credentials (database "postgres"). */
export async function postgresAnswers(url) {
  const { default: postgres } = await import('postgres');
  const server = new URL(url);
  server.pathname = '/postgres';
  const sql = postgres(server.toString(), { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function sparePort(preferred) {
  for (let port = preferred; port < preferred + 50; port += 1) {
    if (await portFree(port)) return port;
  }
  throw new Error(`no free port near ${preferred}`);
}

function which(binary) {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

let aptUpdated = false;
function aptInstall(pkg) {
  if (!isRoot) throw new Error(`${pkg} is not installed; install it (apt-get install ${pkg}) or set the URL`);
  log(`installing ${pkg} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    aptUpdated = true;
  }
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], {
    stdio: 'inherit',
    env,
  });
}

async function waitUntil(check, timeoutMs, label) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${label} did not start within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startOwnRedis(dataDir) {
  let binary = which('redis-server');
  if (!binary) {
    aptInstall('redis-server');
    binary = which('redis-server') ?? '/usr/bin/redis-server';
  }
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await sparePort(6390);
  // AOF on and no eviction: the settings a queue of accepted events needs.
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--daemonize',
    'no',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `redis://127.0.0.1:${port}`;
  await waitUntil(() => redisAnswers(url), 15_000, 'redis-server');
  log(`started redis-server on port ${port} (data in ${dir})`);
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function postgresBinDir() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(base, versions[0], 'bin') : undefined;
}

/** PostgreSQL refuses to run as root: as root, run its binaries as the "postgres" user. */
function asPostgresUser(command, args) {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

async function startOwnPostgres(dataDir) {
  let bin = postgresBinDir();
  if (!bin) {
    aptInstall('postgresql');
    bin = postgresBinDir();
    if (!bin) throw new Error('postgresql was installed but initdb was not found under /usr/lib/postgresql');
  }
  const dir = path.resolve(dataDir, 'postgres');
  const runDir = path.resolve(dataDir, 'postgres-run');
  mkdirSync(runDir, { recursive: true });
  if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', dataDir]);
  const pidFile = path.join(dir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    // Left by a run that did not stop cleanly: stop that server before starting ours.
    const [cmd, args] = asPostgresUser(path.join(bin, 'pg_ctl'), ['stop', '-D', dir, '-m', 'fast']);
    spawnSync(cmd, args, { stdio: 'ignore' });
  }
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', dataDir]);
    const [cmd, args] = asPostgresUser(path.join(bin, 'initdb'), [
      '-D',
      dir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
    ]);
    execFileSync(cmd, args, { stdio: 'ignore' });
  }
  const port = await sparePort(5440);
  const [cmd, args] = asPostgresUser(path.join(bin, 'postgres'), [
    '-D',
    dir,
    '-p',
    String(port),
    '-k',
    runDir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `postgres://postgres@127.0.0.1:${port}/inlet`;
  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr.trim()}`);
        return postgresAnswers(url);
      },
      30_000,
      'postgres',
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  log(`started postgres on port ${port} (data in ${dir})`);
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      // A signal to runuser need not reach postgres: ask pg_ctl for a fast shutdown instead.
      const exit = new Promise((resolve) => child.once('exit', resolve));
      const [stopCmd, stopArgs] = asPostgresUser(path.join(bin, 'pg_ctl'), ['stop', '-D', dir, '-m', 'fast']);
      spawnSync(stopCmd, stopArgs, { stdio: 'ignore' });
      await exit;
    },
  };
}

/**
 * Resolves REDIS_URL and DATABASE_URL: the environment's when set, else the defaults when they
 * answer, else servers of our own. `stop()` stops only what this call started.
 */
export async function ensureServices({ dataDir, env = process.env }) {
  const started = [];
  let redisUrl = env.REDIS_URL;
  let databaseUrl = env.DATABASE_URL;
  try {
    if (!redisUrl) {
      if (await redisAnswers(DEFAULT_REDIS_URL)) redisUrl = DEFAULT_REDIS_URL;
      else {
        log(`no Redis at ${DEFAULT_REDIS_URL}; starting one`);
        const own = await startOwnRedis(dataDir);
        started.push(own);
        redisUrl = own.url;
      }
    }
    if (!databaseUrl) {
      if (await postgresAnswers(DEFAULT_DATABASE_URL)) databaseUrl = DEFAULT_DATABASE_URL;
      else {
        log('no PostgreSQL at 127.0.0.1:5432; starting one');
        const own = await startOwnPostgres(dataDir);
        started.push(own);
        databaseUrl = own.url;
      }
    }
  } catch (error) {
    await Promise.all(started.map((service) => service.stop()));
    throw error;
  }
  return {
    redisUrl,
    databaseUrl,
    stop: () => Promise.all(started.map((service) => service.stop())),
  };
}

/** Installs dependencies and builds when a fresh clone has not yet. */
export function ensureInstalledAndBuilt(root, { quietBuild = true } = {}) {
  // Set by tests that run this script from an already built checkout.
  if (process.env.INLET_SKIP_BUILD === '1') return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
    log('installing dependencies');
    // `npm install` rather than `npm ci`: it follows the lock file too, and tolerates a lock file
    // written where the registry lacked some other platforms' optional packages.
    execFileSync(npm, ['install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  }
  log('building');
  execFileSync(npm, ['run', 'build', '--', ...(quietBuild ? ['--output-logs=errors-only'] : [])], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
  });
}

export function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * What the test scripts share: an installed and built tree, Redis and PostgreSQL found or started
 * (data under `.inlet/test`), and the environment pointing at them. Tests create databases of their
 * own on the server, so DATABASE_URL names its maintenance database.
 */
export async function prepareTestRun(root) {
  ensureInstalledAndBuilt(root);
  const services = await ensureServices({ dataDir: path.join(root, '.inlet', 'test') });
  const server = new URL(services.databaseUrl);
  server.pathname = '/postgres';
  return { services, env: { ...process.env, REDIS_URL: services.redisUrl, DATABASE_URL: server.toString() } };
}
