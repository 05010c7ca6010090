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

/** A redis-server of the test's own on a spare port, so a test may kill and restart it. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-redis-'));
  const pidFile = path.join(dir, 'redis.pid');
  const persistence = options.appendfsync
    ? ['--appendonly', 'yes', '--appendfsync', options.appendfsync]
    : ['--appendonly', 'no'];
  const watchdog = startRedisWatchdog(dir, pidFile);
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--pidfile',
        pidFile,
        '--save',
        '',
        ...persistence,
      ],
      { stdio: 'ignore' },
    );
    child.once('error', () => {});
    await waitFor(
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
  return { port, url: `redis://127.0.0.1:${port}`, dir, kill, start, stop };
}
