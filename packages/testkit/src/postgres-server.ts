import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { freePort, waitFor } from './processes.js';

export interface PostgresServer {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (user postgres, no password). */
  readonly url: string;
  /** Its temporary directory: data/, socket/ and postgres.log (the server's log, for a failing test). */
  readonly dir: string;
  /** The URL of database `name` on this server. */
  databaseUrl(name: string): string;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
  /** Stops it like a crash or an outage (`pg_ctl stop -m immediate`): open connections drop. */
  pause(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it accepts connections. */
  resume(): Promise<void>;
}

export interface PostgresServerOptions {
  /** More server settings, each passed as `-c name=value`. */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * Serves TLS with this certificate and key (PEM files, copied for the server to own) and refuses
   * unencrypted TCP connections (pg_hba `hostssl` lines only), so a client that connects at all
   * connected over TLS. `url` carries no sslmode: the test says how strict a client is.
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

const isRoot = process.getuid?.() === 0;

/** The directory of initdb, pg_ctl and postgres: the newest /usr/lib/postgresql/<ver>/bin, else PATH. */
function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const newest = readdirSync(base)
      .filter((version) => existsSync(path.join(base, version, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a))[0];
    if (newest) return path.join(base, newest, 'bin');
  }
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return path.dirname(onPath.stdout.trim());
  throw new Error(
    'startPostgresServer needs the PostgreSQL server binaries (initdb, pg_ctl, postgres), found neither ' +
      'under /usr/lib/postgresql/<version>/bin nor on PATH; install them (apt-get install postgresql)',
  );
}

/** PostgreSQL refuses to run as root: as root, its binaries run as the "postgres" user. */
function command(binary: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

/** Runs a PostgreSQL binary to completion; rejects with its output when it fails. */
function run(binary: string, args: string[], cwd: string): Promise<void> {
  const [file, argv] = command(binary, args);
  return new Promise((resolve, reject) => {
    // cwd: the postgres user may not be allowed into the test's working directory.
    execFile(file, argv, { cwd, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve();
      const output = `${stdout}${stderr}`.trim();
      reject(new Error(`${path.basename(binary)} ${args[0] ?? ''} failed: ${error.message}\n${output}`));
    });
  });
}

/** A string the shell reads back as one word, whatever it holds. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The postmaster's process id, from the first line of its postmaster.pid. */
async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True while process `pid` runs (an exited process not yet reaped, a zombie, does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) said it exists
  }
}

/**
 * pg_ctl daemonizes the server, so it would outlive a test process that ends without `stop()`
 * (vitest ends its workers with SIGTERM, where no exit handler runs). This watcher, in a session of
 * its own, waits for this process to end and then stops the server and removes its directory.
 */
function startWatchdog(dir: string, stopCommand: [string, string[]]): ChildProcess {
  const script = `parent=$1; dir=$2; shift 2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
"$@" >/dev/null 2>&1
rm -rf "$dir"`;
  const [file, args] = stopCommand;
  const watchdog = spawn(
    'sh',
    ['-c', script, 'inlet-postgres-watchdog', String(process.pid), dir, file, ...args],
    {
      cwd: dir,
      detached: true,
      stdio: 'ignore',
    },
  );
  watchdog.once('error', () => {});
  watchdog.unref();
  return watchdog;
}

function stopWatchdog(watchdog: ChildProcess): void {
  if (watchdog.pid === undefined || watchdog.exitCode !== null || watchdog.signalCode !== null) return;
  try {
    process.kill(-watchdog.pid, 'SIGTERM'); // its process group: the shell and its `sleep`
  } catch {
    // already gone
  }
}

/**
 * A PostgreSQL server of the test's own on a spare port, its data in a temporary directory, so a
 * test may take it down and bring it back. initdb makes this take a couple of seconds.
 */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const port = await freePort();
  const base = await mkdtemp(path.join(tmpdir(), 'inlet-postgres-'));
  const dataDir = path.join(base, 'data');
  const socketDir = path.join(base, 'socket');
  const logFile = path.join(base, 'postgres.log');
  const settings: Record<string, string> = { ...options.settings };
  if (options.tls) {
    Object.assign(settings, {
      ssl: 'on',
      ssl_cert_file: path.join(base, 'server.crt'),
      ssl_key_file: path.join(base, 'server.key'),
    });
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pgCtl = path.join(bin, 'pg_ctl');

  const logTail = async () => {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    return log.split('\n').slice(-20).join('\n').trim();
  };
  // `pg_ctl status` fails when no server runs on the data directory.
  const isUp = () =>
    run(pgCtl, ['status', '-D', dataDir], base).then(
      () => true,
      () => false,
    );

  const start = async () => {
    if (await isUp()) return;
    const serverOptions = [
      `-p ${port}`,
      `-k ${shellQuote(socketDir)}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      // Quick for tests. Not synchronous_commit=off: with it, pause() (an immediate stop) loses
      // the last commits, which a test would take for a bug of the code under test.
      '-c fsync=off',
      '-c full_page_writes=off',
      ...Object.entries(settings).map(([name, value]) => `-c ${shellQuote(`${name}=${value}`)}`),
    ].join(' ');
    try {
      await run(pgCtl, ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', serverOptions], base);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${logFile} ---\n${await logTail()}`);
    }
    // With `tls`, plain connections are refused: this probe encrypts without verifying.
    const sql = postgres(url, {
      max: 1,
      connect_timeout: 2,
      onnotice: () => {},
      ...(options.tls ? { ssl: 'require' as const } : {}),
    });
    try {
      await waitFor(
        async () => (await sql`select 1 as one`)[0]?.one === 1,
        30_000,
        `postgres on port ${port}`,
      );
    } finally {
      await sql.end({ timeout: 1 });
    }
  };

  /** Stops the server when it runs: `immediate` is a crash, `fast` a clean shutdown. */
  const shutdown = async (mode: 'fast' | 'immediate') => {
    if (!(await isUp())) return;
    const pid = await postmasterPid(dataDir);
    await run(pgCtl, ['stop', '-w', '-t', '60', '-D', dataDir, '-m', mode], base);
    // pg_ctl returns once postmaster.pid is gone, a moment before the process has exited.
    if (pid !== undefined) await waitFor(() => !alive(pid), 10_000, `postgres (pid ${pid}) to exit`);
  };

  let watchdog: ChildProcess | undefined;
  const remove = async () => {
    if (watchdog) stopWatchdog(watchdog);
    await rm(base, { recursive: true, force: true });
  };

  try {
    await chmod(base, 0o755);
    await mkdir(socketDir);
    if (options.tls) {
      // PostgreSQL reads a key only when its own user owns it with mode 0600 (chowned below).
      await copyFile(options.tls.certFile, path.join(base, 'server.crt'));
      await copyFile(options.tls.keyFile, path.join(base, 'server.key'));
      await chmod(path.join(base, 'server.key'), 0o600);
    }
    if (isRoot) {
      // Plainly, not through `command`: chown runs as root.
      await new Promise<void>((resolve, reject) =>
        execFile('chown', ['-R', 'postgres:postgres', base], (error, _stdout, stderr) =>
          error
            ? reject(new Error(`chown -R postgres:postgres ${base} failed: ${stderr.trim()}`))
            : resolve(),
        ),
      );
    }
    watchdog = startWatchdog(base, command(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate']));
    await run(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
      base,
    );
    if (options.tls) {
      // Overwritten in place, so the file keeps the owner initdb gave it.
      await writeFile(
        path.join(dataDir, 'pg_hba.conf'),
        'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n',
      );
    }
    await start();
  } catch (error) {
    await shutdown('immediate').catch(() => {});
    await remove();
    throw error;
  }

  return {
    port,
    url,
    dir: base,
    databaseUrl(name: string) {
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    pause: () => shutdown('immediate'),
    resume: start,
    async stop() {
      try {
        // A fast shutdown that fails or hangs: end it the hard way before its files go.
        await shutdown('fast').catch(() => shutdown('immediate'));
      } finally {
        await remove();
      }
    },
  };
}
