import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEventQueue, createRedis } from '@inlet/queue';
import {
  createTestDatabase,
  exited,
  freePort,
  type TestDatabase,
  testRedisUrl,
  uniqueQueue,
  waitFor,
} from '@inlet/testkit';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs Node with `args` in `cwd` and exactly the environment given, keeping what it prints. */
export function runNodeIn(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return {
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited(child);
    },
  };
}

/** Runs a built entry point of this repository with the given environment. */
export function runNode(script: string, env: Record<string, string>, args: string[] = []): RunningProcess {
  return runNodeIn(repoRoot, [path.join(repoRoot, script), ...args], {
    ...process.env,
    LOG_LEVEL: 'warn',
    ...env,
  });
}

/** Waits until GET `url` answers 200, failing early if the process dies. */
export async function waitHealthy(
  url: string,
  process: RunningProcess,
  timeoutMs = 20_000,
  headers: Record<string, string> = {},
): Promise<void> {
  await waitFor(
    async () => {
      if (process.child.exitCode !== null) throw new Error(`exited early:\n${process.output()}`);
      const response = await fetch(url, { headers }).catch(() => undefined);
      return response?.status === 200;
    },
    timeoutMs,
    url,
  );
}

/** Removes every key of a test's queue from the shared Redis. */
export async function removeQueue(names: {
  name?: string | undefined;
  prefix?: string | undefined;
}): Promise<void> {
  if (!names.name || !names.prefix) return;
  const connection = createRedis(testRedisUrl(), 'producer');
  const queue = createEventQueue(connection, { name: names.name, prefix: names.prefix });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

export interface Stack {
  readonly db: TestDatabase;
  /** A temp folder of the test's own (the sources file lives there). */
  readonly dir: string;
  /** The environment the apps run with; the CLI run with it talks to this stack. */
  readonly env: Record<string, string>;
  readonly ingest: RunningProcess;
  readonly worker: RunningProcess;
  readonly ingestUrl: string;
  stop(): Promise<void>;
}

/**
 * Real ingest and worker processes on a database, queue and ports of the test's own, reading
 * `sources` as their sources file. `extraEnv` reaches both apps; `ingestEnv` only ingest.
 */
export async function startStack(options: {
  sources: Record<string, unknown>;
  extraEnv?: Record<string, string>;
  ingestEnv?: Record<string, string>;
}): Promise<Stack> {
  const db = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'inlet-stack-'));
  const sourcesFile = path.join(dir, 'inlet.sources.json');
  await writeFile(sourcesFile, JSON.stringify({ sources: options.sources }));
  const queue = uniqueQueue();
  const [port, workerPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    REDIS_URL: testRedisUrl(),
    DATABASE_URL: db.url,
    INLET_SOURCES: sourcesFile,
    INLET_QUEUE: queue.name,
    INLET_QUEUE_PREFIX: queue.prefix,
    PORT: String(port),
    WORKER_METRICS_PORT: String(workerPort),
    ...options.extraEnv,
  };
  const ingestUrl = `http://127.0.0.1:${port}`;
  const ingest = runNode('apps/ingest/dist/main.js', { ...env, ...options.ingestEnv });
  const worker = runNode('apps/worker/dist/main.js', env);
  const stop = async () => {
    await ingest.stop();
    await worker.stop();
    await removeQueue(queue);
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitHealthy(`${ingestUrl}/readyz`, ingest);
    await waitHealthy(`http://127.0.0.1:${workerPort}/readyz`, worker);
  } catch (error) {
    await stop();
    throw error;
  }
  return { db, dir, env, ingest, worker, ingestUrl, stop };
}
