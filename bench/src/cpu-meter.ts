import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { Sql } from '@inlet/db';
import type { Redis } from 'ioredis';

/**
 * Linux reports process times in USER_HZ ticks, 100 a second on every architecture Node runs on
 * (the kernel's own HZ is hidden from /proc), so this is a constant rather than a `getconf` call.
 */
const TICKS_PER_SECOND = 100;
const MICROS_PER_TICK = 1_000_000 / TICKS_PER_SECOND;

/** Cumulative CPU time (user + system) of one process or server, in µs; null when it cannot be read. */
export interface CpuSource {
  readonly name: string;
  /** One main thread does the work (Node, Redis): at about one core it is saturated. */
  readonly singleThreaded: boolean;
  read(): Promise<number | null>;
}

export interface ProcStat {
  comm: string;
  ppid: number;
  /** Ticks. */
  utime: number;
  stime: number;
  /** Ticks of children that exited and were waited for. */
  cutime: number;
  cstime: number;
}

/** `/proc/<pid>/stat`; the command name may hold spaces and parentheses, so fields are counted from the last `)`. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // After the name: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  const number = (index: number) => Number(fields[index]);
  const stat = {
    comm: text.slice(open + 1, close),
    ppid: number(1),
    utime: number(11),
    stime: number(12),
    cutime: number(13),
    cstime: number(14),
  };
  return [stat.ppid, stat.utime, stat.stime, stat.cutime, stat.cstime].every(Number.isFinite) ? stat : null;
}

function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** A process of the phase, read from /proc while it runs (null elsewhere than Linux, or once it exited). */
export function processCpu(name: string, pid: number | undefined): CpuSource {
  return {
    name,
    singleThreaded: true,
    read: async () => {
      const stat = pid === undefined ? null : readProcStat(pid);
      return stat === null ? null : (stat.utime + stat.stime) * MICROS_PER_TICK;
    },
  };
}

/** The bench's own process: the load generator, when autocannon or the add loop runs in it. */
export function selfCpu(name: string): CpuSource {
  return {
    name,
    singleThreaded: true,
    read: async () => {
      const usage = process.cpuUsage();
      return usage.user + usage.system;
    },
  };
}

/** Redis's own account (`INFO cpu`), so it works for a Redis on another host too. */
export function redisCpu(redis: Redis): CpuSource {
  return {
    name: 'redis',
    singleThreaded: true,
    read: async () => {
      const info = await redis.info('cpu').catch(() => '');
      const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
      const seconds = field('used_cpu_user') + field('used_cpu_sys');
      return Number.isFinite(seconds) ? seconds * 1_000_000 : null;
    },
  };
}

/**
 * The PostgreSQL server the bench's own connection reaches, when it runs on this machine: the
 * postmaster (the parent of the bench's backend) with every process it started, plus what its
 * children that already exited used (the postmaster's cutime/cstime). Best effort: null when the
 * server is elsewhere (the backend's pid is then not a local `postgres` process) or not on Linux.
 * It counts the work of every client of the server, not only the bench's.
 */
export async function postgresCpu(sql: Sql): Promise<CpuSource | null> {
  if (process.platform !== 'linux') return null;
  const [row] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const backend = row === undefined ? null : readProcStat(row.pid);
  if (backend?.comm !== 'postgres') return null;
  const postmasterPid = backend.ppid;
  if (readProcStat(postmasterPid)?.comm !== 'postgres') return null;
  return {
    name: 'postgres',
    singleThreaded: false,
    read: async () => {
      const postmaster = readProcStat(postmasterPid);
      if (postmaster === null) return null;
      let ticks = postmaster.utime + postmaster.stime + postmaster.cutime + postmaster.cstime;
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const stat = readProcStat(Number(entry));
        if (stat?.ppid === postmasterPid) ticks += stat.utime + stat.stime;
      }
      return ticks * MICROS_PER_TICK;
    },
  };
}

export interface MachineCpu {
  /** Ticks summed over all cores. */
  busy: number;
  idle: number;
}

/** The first line of `/proc/stat`: time every core spent busy and idle since boot. */
export function parseMachineCpu(text: string): MachineCpu | null {
  const line = /^cpu\s+([\d ]+)$/m.exec(text)?.[1];
  if (line === undefined) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .map(Number);
  // Steal is time the hypervisor gave to someone else: not available to this machine, so not idle.
  return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait };
}

function readMachineCpu(): MachineCpu | null {
  try {
    return parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

export interface ProcessCpu {
  /** CPU time per event (or request) of the phase, in µs. */
  cpu_us_per_event: number | null;
  /** Cores it kept busy on average during the window. */
  cores: number;
  /** `cores` as a share of the machine's cores, 0 to 1. */
  share: number;
}

/** Where the CPU of one phase went, over the window in which it was measured. */
export interface PhaseCpu {
  window_s: number;
  events: number;
  /** The machine's cores. */
  cores: number;
  /** Share of all cores busy with anything, 0 to 1; null without /proc/stat. */
  machine_busy_share: number | null;
  /** Each measured process; null where it could not be read. */
  processes: Record<string, ProcessCpu | null>;
  /** Busy time of the machine outside the processes above (other users, the kernel): null without /proc/stat. */
  others: ProcessCpu | null;
  /**
   * Events per second the measured processes' CPU per event would allow if they had the machine to
   * themselves: all cores over their summed µs per event, and no single-threaded one past one core.
   * Less noisy than the figure itself on a shared machine; optimistic, as it ignores waiting.
   */
  cpu_ceiling_per_s: number | null;
  /** One line: what the figure is bound by, as far as CPU shows it. */
  bound_by: string;
}

/** At or above this share of all cores busy, the phase was fighting for CPU rather than waiting. */
const SATURATED_MACHINE = 0.9;
/** A single-threaded process this close to one core is saturated (Node's GC threads add a little on top). */
const SATURATED_THREAD = 0.85;

const percent = (share: number) => `${Math.round(share * 100)}%`;

/** The "bound by" line of a phase, from its CPU split. */
export function boundBy(
  cpu: Pick<PhaseCpu, 'machine_busy_share' | 'processes' | 'others'>,
  singleThreaded: ReadonlySet<string> = new Set(),
): string {
  const ranked = Object.entries(cpu.processes)
    .flatMap(([name, usage]) => (usage === null ? [] : [{ name, ...usage }]))
    .sort((a, b) => b.cores - a.cores);
  const listing = [...ranked, ...(cpu.others ? [{ name: 'others', ...cpu.others }] : [])]
    .filter((entry) => entry.share >= 0.05)
    .sort((a, b) => b.share - a.share)
    .map((entry) => `${entry.name} ${percent(entry.share)}`)
    .join(', ');
  if (cpu.machine_busy_share !== null && cpu.machine_busy_share >= SATURATED_MACHINE) {
    return `machine CPU saturated (${percent(cpu.machine_busy_share)} busy: ${listing})`;
  }
  const busiest = ranked[0];
  if (busiest === undefined) return 'unknown (no CPU figures on this platform)';
  if (singleThreaded.has(busiest.name) && busiest.cores >= SATURATED_THREAD) {
    return `${busiest.name}'s main thread (${busiest.cores.toFixed(2)} cores; ${listing})`;
  }
  return `no process saturated, waiting on round trips or paced (busiest ${busiest.name} at ${busiest.cores.toFixed(2)} cores; ${listing})`;
}

/** See `PhaseCpu.cpu_ceiling_per_s`. */
export function cpuCeiling(
  processes: Readonly<Record<string, ProcessCpu | null>>,
  cores: number,
  singleThreaded: ReadonlySet<string>,
): number | null {
  let total = 0;
  let ceiling = Number.POSITIVE_INFINITY;
  for (const [name, usage] of Object.entries(processes)) {
    const micros = usage?.cpu_us_per_event;
    if (micros === null || micros === undefined || micros <= 0) continue;
    total += micros;
    if (singleThreaded.has(name)) ceiling = Math.min(ceiling, 1_000_000 / micros);
  }
  if (total === 0) return null;
  return Math.round(Math.min(ceiling, (cores * 1_000_000) / total));
}

interface Reading {
  at: number;
  values: (number | null)[];
  machine: MachineCpu | null;
}

/** Measures the CPU each source used between `start()` and `stop()`. */
export class CpuMeter {
  private constructor(
    private readonly sources: readonly CpuSource[],
    private readonly first: Reading,
  ) {}

  private static async read(sources: readonly CpuSource[]): Promise<Reading> {
    const values = await Promise.all(sources.map((source) => source.read().catch(() => null)));
    return { at: performance.now(), values, machine: readMachineCpu() };
  }

  static async start(sources: readonly (CpuSource | null)[]): Promise<CpuMeter> {
    const present = sources.filter((source): source is CpuSource => source !== null);
    return new CpuMeter(present, await CpuMeter.read(present));
  }

  /** The split of the window since `start()`; `events` is what the phase did in it (requests, events). */
  async stop(events: number): Promise<PhaseCpu> {
    const last = await CpuMeter.read(this.sources);
    const seconds = Math.max((last.at - this.first.at) / 1000, 0.001);
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    const usage = (micros: number): ProcessCpu => ({
      cpu_us_per_event: events > 0 ? Math.round(micros / events) : null,
      cores: Math.round((micros / 1_000_000 / seconds) * 100) / 100,
      share: Math.round((micros / 1_000_000 / seconds / cores) * 1000) / 1000,
    });
    const processes: Record<string, ProcessCpu | null> = {};
    let accounted = 0;
    this.sources.forEach((source, index) => {
      const before = this.first.values[index];
      const after = last.values[index];
      if (before === null || before === undefined || after === null || after === undefined) {
        processes[source.name] = null;
        return;
      }
      const micros = Math.max(after - before, 0);
      accounted += micros;
      processes[source.name] = usage(micros);
    });
    let machineBusyShare: number | null = null;
    let others: ProcessCpu | null = null;
    if (this.first.machine && last.machine) {
      const busy = last.machine.busy - this.first.machine.busy;
      const total = busy + (last.machine.idle - this.first.machine.idle);
      if (total > 0) {
        machineBusyShare = Math.round((busy / total) * 1000) / 1000;
        // Ticks are coarse (10 ms), so a short window can show slightly more accounted than busy time.
        others = usage(Math.max(busy * MICROS_PER_TICK - accounted, 0));
      }
    }
    const singleThreaded = new Set(this.sources.filter((s) => s.singleThreaded).map((s) => s.name));
    const split = {
      window_s: Math.round(seconds * 100) / 100,
      events,
      cores,
      machine_busy_share: machineBusyShare,
      processes,
      others,
      cpu_ceiling_per_s: cpuCeiling(processes, cores, singleThreaded),
    };
    return { ...split, bound_by: boundBy(split, singleThreaded) };
  }
}
