import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  timeoutMs = 10_000,
  label = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${label}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves when the process has exited, with its exit code (or null when killed by a signal). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Its working directory: the append-only file lives here, and survives `kill()` and `start()`. */
  readonly dir: string;
  /** Stops the server (SIGKILL: like a crash, nothing flushed). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /**
   * Turns on the append-only file with this fsync policy (`always`: every write is on disk before
   * Redis answers it), so data survives `kill()` and `start()`. Off by default: nothing persists.
   */
  readonly appendfsync?: 'always' | 'everysec' | 'no';
  /**
   * Serves TLS only, on the port, with this certificate and key (PEM files): `url` is then
   * `rediss://127.0.0.1:PORT`. Clients are not asked for certificates.
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

/**
 * A redis-server that outlives the test process (vitest ends a worker with SIGTERM, where no exit
 * handler runs) would linger on the machine: this watcher, in a session of its own, waits for this
 * process to end and then kills the server named by its pid file and removes its directory.
 */
function startRedisWatchdog(dir: string, pidFile: string): ChildProcess {
  const script = `parent=$1; dir=$2; pidfile=$3
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
[ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
rm -rf "$dir"`;
  const watchdog = spawn('sh', ['-c', script, 'inlet-redis-watchdog', String(process.pid), dir, pidFile], {
    cwd: dir,
    detached: true,
    stdio: 'ignore',
  });
  watchdog.once('error', () => {});
  watchdog.unref();
  return watchdog;
}

/**
 * A redis-server of the test's own on a spare port, so a test may kill and restart it. When it will
 * not start (such as a build without TLS, given `tls`), the error holds what it said.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-redis-'));
  const pidFile = path.join(dir, 'redis.pid');
  const persistence = options.appendfsync
    ? ['--appendonly', 'yes', '--appendfsync', options.appendfsync]
    : ['--appendonly', 'no'];
  const { tls } = options;
  const listen = tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        tls.certFile,
        '--tls-key-file',
        tls.keyFile,
      ].concat(['--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no'])
    : ['--port', String(port)];
  const watchdog = startRedisWatchdog(dir, pidFile);
  let child: ChildProcess | undefined;
  const start = async () => {
    const running = spawn(
      'redis-server',
      [...listen, '--bind', '127.0.0.1', '--dir', dir, '--pidfile', pidFile, '--save', '', ...persistence],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = running;
    let said = '';
    const keep = (chunk: Buffer) => {
      if (said.length < 10_000) said += chunk.toString();
    };
    running.stdout?.on('data', keep);
    running.stderr?.on('data', keep);
    running.once('error', (error) => {
      said += String(error);
    });
    // 'close', not 'exit': by then everything it printed has been read.
    const exitedEarly = new Promise<never>((_resolve, reject) =>
      running.once('close', () => reject(new Error(`redis-server exited at start: ${said.trim()}`))),
    );
    const listening = waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      10_000,
      `redis-server on port ${port}`,
    );
    await Promise.race([listening, exitedEarly]);
  };
  const kill = async () => {
    if (!child) return;
    const running = child;
    child = undefined;
    running.kill('SIGKILL');
    await exited(running);
    // A stale pid could be another process's by the time the watchdog reads it.
    await rm(pidFile, { force: true });
  };
  const stop = async () => {
    await kill();
    if (watchdog.pid !== undefined && watchdog.exitCode === null) {
      try {
        process.kill(-watchdog.pid, 'SIGTERM'); // its process group: the shell and its `sleep`
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`, dir, kill, start, stop };
}
