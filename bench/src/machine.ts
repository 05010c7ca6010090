import os from 'node:os';
import type { MachineInfo } from './results.js';

export function machineInfo(versions: { redis: string; postgres: string }): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: os.availableParallelism?.() ?? cpus.length,
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    total_memory_mb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    redis: versions.redis,
    postgres: versions.postgres,
    // Other work on the machine moves every figure: say how busy it was when the run began.
    load_average_at_start: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}
