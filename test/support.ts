import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEventQueue, createRedis } from '@inlet/queue';
import { exited, testRedisUrl, waitFor } from '@inlet/testkit';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs a built entry point of this repository with the given environment. */
export function runNode(script: string, env: Record<string, string>, args: string[] = []): RunningProcess {
  const child = spawn(process.execPath, [path.join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

/** Waits until GET `url` answers 200, failing early if the process dies. */
export async function waitHealthy(url: string, process: RunningProcess, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    async () => {
      if (process.child.exitCode !== null) throw new Error(`exited early:\n${process.output()}`);
      const response = await fetch(url).catch(() => undefined);
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
