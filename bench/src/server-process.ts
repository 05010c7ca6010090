import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeChild, type NodeChildOptions } from './child-process.js';

const READY_TIMEOUT_MS = 30_000;
const LOG_TAIL_CHARS = 2000;

/** A port nobody listens on now; the child binds it a moment later (loopback only, so races are rare). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for a server');
  return address.port;
}

export interface ServerProcessOptions extends NodeChildOptions {
  readonly label: string;
  readonly port: number;
  /** Answers 200 once the server can take requests (ingest: `/readyz`, so Redis is up too). */
  readonly readyPath: string;
  readonly signal?: AbortSignal;
}

/** An HTTP server in a child process of its own: the phase's ingest, or a reference server. */
export class ServerProcess {
  private constructor(
    readonly child: NodeChild,
    readonly url: string,
    private readonly options: ServerProcessOptions,
  ) {}

  /** Starts it and waits until `readyPath` answers 200; fails with its output when it exits first. */
  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const child = new NodeChild(options);
    const server = new ServerProcess(child, `http://127.0.0.1:${options.port}`, options);
    try {
      await server.waitUntilReady();
    } catch (error) {
      await child.stop();
      throw error;
    }
    return server;
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      this.options.signal?.throwIfAborted();
      if (this.child.exited) {
        throw new ServerStartError(this.options.label, await this.output());
      }
      const ready = await fetch(`${this.url}${this.options.readyPath}`, { signal: AbortSignal.timeout(1000) })
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status === 200;
        })
        .catch(() => false);
      if (ready) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${this.options.label}: not ready after ${READY_TIMEOUT_MS / 1000} s:\n${await this.output()}`,
        );
      }
      await sleep(100);
    }
  }

  /** What it wrote: stderr, and the end of its log file when stdout goes to one. */
  async output(): Promise<string> {
    const log =
      this.options.stdoutFile === undefined
        ? ''
        : (await readFile(this.options.stdoutFile, 'utf8').catch(() => '')).slice(-LOG_TAIL_CHARS);
    return [this.child.outputTail, log.trim()].filter((text) => text !== '').join('\n');
  }

  stop(): Promise<number | null> {
    return this.child.stop();
  }
}

/** The server exited while starting: its output says why (a setting it refused, a port taken). */
export class ServerStartError extends Error {
  override readonly name = 'ServerStartError';
  constructor(
    readonly label: string,
    readonly output: string,
  ) {
    super(`${label} exited while starting:\n${output}`);
  }
}
