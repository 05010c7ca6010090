import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BenchUsageError,
  defaultOutFile,
  FULL_EVENTS,
  FULL_TIMINGS,
  parseBenchOptions,
  QUICK_EVENTS,
  QUICK_TIMINGS,
} from './options.js';

describe('parseBenchOptions', () => {
  it('runs 50,000 events a phase by default and 5,000 with --quick', () => {
    expect(parseBenchOptions([], {})).toMatchObject({
      quick: false,
      events: FULL_EVENTS,
      outFile: defaultOutFile,
    });
    expect(parseBenchOptions(['--quick'], {})).toMatchObject({ quick: true, events: QUICK_EVENTS });
  });

  it('runs every group unless --only names one, with short windows under --quick', () => {
    expect(parseBenchOptions([], {})).toMatchObject({
      groups: ['ingest', 'worker', 'e2e'],
      timings: FULL_TIMINGS,
    });
    expect(parseBenchOptions(['--quick', '--only', 'e2e'], {})).toMatchObject({
      groups: ['e2e'],
      timings: QUICK_TIMINGS,
    });
    expect(() => parseBenchOptions(['--only', 'dashboard'], {})).toThrow(/--only must be one of/);
  });

  it('takes the event count from --events, else from BENCH_EVENTS', () => {
    expect(parseBenchOptions(['--quick'], { BENCH_EVENTS: '2000' }).events).toBe(2000);
    expect(parseBenchOptions(['--events', '3000'], { BENCH_EVENTS: '2000' }).events).toBe(3000);
  });

  it('points at local servers unless told otherwise', () => {
    expect(parseBenchOptions([], {})).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
    });
    expect(parseBenchOptions(['--out', 'x.json'], {}).outFile).toBe(path.resolve('x.json'));
  });

  it('refuses unknown flags and event counts BullMQ would not keep', () => {
    expect(() => parseBenchOptions(['--fast'], {})).toThrow(BenchUsageError);
    expect(() => parseBenchOptions(['--events', '200000'], {})).toThrow(/--events must be a whole number/);
    expect(() => parseBenchOptions(['--events', 'many'], {})).toThrow(BenchUsageError);
  });
});
