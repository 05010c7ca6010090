import { describe, expect, it } from 'vitest';
import {
  boundBy,
  CpuMeter,
  cpuCeiling,
  parseMachineCpu,
  parseProcStat,
  processCpu,
  selfCpu,
} from './cpu-meter.js';

describe('parseProcStat', () => {
  it('reads the times after a command name that holds spaces and parentheses', () => {
    const line =
      '4242 (node (ingest) x) S 4200 4242 4200 0 -1 4194560 9000 0 0 0 1234 56 7 8 20 0 11 0 100 0 0';
    expect(parseProcStat(line)).toEqual({
      comm: 'node (ingest) x',
      ppid: 4200,
      utime: 1234,
      stime: 56,
      cutime: 7,
      cstime: 8,
    });
    expect(parseProcStat('garbage')).toBeNull();
  });
});

describe('parseMachineCpu', () => {
  it('counts steal as busy and iowait as idle', () => {
    const text = 'cpu  100 5 20 1000 30 1 2 7 0 0\ncpu0 50 2 10 500 15 0 1 3 0 0\n';
    expect(parseMachineCpu(text)).toEqual({ busy: 100 + 5 + 20 + 1 + 2 + 7, idle: 1030 });
  });
});

describe('boundBy', () => {
  const usage = (share: number) => ({ cpu_us_per_event: 10, cores: share * 2, share });

  it('names a saturated machine with the biggest users of it', () => {
    const line = boundBy({
      machine_busy_share: 0.97,
      processes: { ingest: usage(0.5), redis: usage(0.25), postgres: usage(0.01) },
      others: usage(0.2),
    });
    expect(line).toBe('machine CPU saturated (97% busy: ingest 50%, redis 25%, others 20%)');
  });

  it('names a single-threaded process at one core', () => {
    const line = boundBy(
      { machine_busy_share: 0.6, processes: { ingest: usage(0.47), redis: usage(0.1) }, others: null },
      new Set(['ingest', 'redis']),
    );
    expect(line).toMatch(/^ingest's main thread \(0\.94 cores/);
  });

  it('says when nothing is saturated', () => {
    const line = boundBy({ machine_busy_share: 0.3, processes: { worker: usage(0.2) }, others: null });
    expect(line).toMatch(/^no process saturated/);
  });
});

describe('cpuCeiling', () => {
  const usage = (micros: number | null) => ({ cpu_us_per_event: micros, cores: 1, share: 0.5 });

  it('shares the cores among the CPU every event needs', () => {
    const processes = { ingest: usage(200), redis: usage(100), postgres: usage(100), gone: null };
    expect(cpuCeiling(processes, 2, new Set())).toBe(5000);
  });

  it('holds a single-threaded process to one core', () => {
    const processes = { ingest: usage(400), redis: usage(100) };
    expect(cpuCeiling(processes, 4, new Set(['ingest', 'redis']))).toBe(2500);
    expect(cpuCeiling({ gone: null }, 2, new Set())).toBeNull();
  });
});

describe('CpuMeter', () => {
  it('measures the CPU a process used per event over its window', async () => {
    const meter = await CpuMeter.start([selfCpu('bench'), processCpu('gone', undefined)]);
    const until = performance.now() + 50;
    while (performance.now() < until) Math.sqrt(Math.random());
    const cpu = await meter.stop(1000);
    expect(cpu.events).toBe(1000);
    // The machine is shared: a busy loop gets some of a core, how much says nothing.
    expect(cpu.processes.bench?.cores).toBeGreaterThan(0);
    expect(cpu.processes.bench?.cpu_us_per_event).toBeGreaterThan(0);
    expect(cpu.processes.gone).toBeNull();
    expect(typeof cpu.bound_by).toBe('string');
  });
});
