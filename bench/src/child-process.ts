import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

const OUTPUT_TAIL_CHARS = 4000;
const STOP_TIMEOUT_MS = 30_000;

export interface NodeChildOptions {
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Node options placed before the script, e.g. `--cpu-prof`. */
  readonly execArgv?: readonly string[];
  /**
   * Where its standard output goes instead of the harness: a log file, as an operator would run it,
   * so that thousands of log lines a second cost the process what they cost in production and the
   * harness nothing.
   */
  readonly stdoutFile?: string;
}

// Children still running when the bench exits for any reason (an uncaught error included) are
// killed, so that no ingest or worker outlives a run and keeps a port or a queue busy.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A Node process of one phase. Its output is kept (the last few KB) for when it fails, and its peak
 * resident memory is read from `/proc` while it still runs, since nothing is left to read after exit.
 */
export class NodeChild {
  private readonly child: ChildProcess;
  private output = '';
  private readonly exit: Promise<number | null>;

  constructor(options: NodeChildOptions) {
    const stdout = options.stdoutFile === undefined ? 'pipe' : openSync(options.stdoutFile, 'a');
    try {
      this.child = spawn(process.execPath, [...(options.execArgv ?? []), options.script], {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', stdout, 'pipe'],
      });
    } finally {
      if (typeof stdout === 'number') closeSync(stdout);
    }
    running.add(this.child);
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exit = new Promise((resolve) => {
      this.child.once('error', (error) => {
        running.delete(this.child);
        keep(Buffer.from(`${error.message}\n`));
        resolve(null);
      });
      this.child.once('exit', (code) => {
        running.delete(this.child);
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The last lines it wrote (to stderr only, when its stdout goes to a file), for an error message. */
  get outputTail(): string {
    return this.output.trim();
  }

  /** Peak resident set size so far (VmHWM) in MB, or null where `/proc` is missing (not Linux). */
  peakRssMb(): number | null {
    if (this.child.pid === undefined) return null;
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)?.[1];
      return kb === undefined ? null : Math.round(Number(kb) / 1024);
    } catch {
      return null;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after STOP_TIMEOUT_MS. Resolves with its exit code. */
  async stop(): Promise<number | null> {
    if (!this.exited) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }
}
