import { describe, expect, it } from 'vitest';
import { parseWorkerEnv } from './env.js';

describe('worker settings', () => {
  it('applies the defaults', () => {
    const env = parseWorkerEnv({});
    expect(env.WORKER_CONCURRENCY).toBe(1000);
    expect(env.WORKER_BATCH_SIZE).toBe(256);
    expect(env.WORKER_MAX_BODY_BYTES_IN_FLIGHT).toBe(16 * 1024 * 1024);
    expect(env.INLET_HANDLER_TIMEOUT_MS).toBe(10_000);
    expect(env.INLET_SHUTDOWN_TIMEOUT_MS).toBe(30_000);
  });

  it('reads the bound on job data in flight', () => {
    expect(
      parseWorkerEnv({ WORKER_MAX_BODY_BYTES_IN_FLIGHT: '1048576' }).WORKER_MAX_BODY_BYTES_IN_FLIGHT,
    ).toBe(1_048_576);
  });

  it.each([
    [
      { WORKER_MAX_BODY_BYTES_IN_FLIGHT: '100' },
      /^WORKER_MAX_BODY_BYTES_IN_FLIGHT: must be a whole number from 1024/,
    ],
    [{ WORKER_MAX_BODY_BYTES_IN_FLIGHT: '16MB' }, /^WORKER_MAX_BODY_BYTES_IN_FLIGHT: must be a whole number/],
    [{ WORKER_CONCURRENCY: '0' }, /^WORKER_CONCURRENCY: must be a whole number from 1 to 5000$/],
    [{ INLET_HANDLER_TIMEOUT_MS: '10s' }, /^INLET_HANDLER_TIMEOUT_MS: must be a whole number from 100/],
    [{ INLET_SHUTDOWN_TIMEOUT_MS: '-1' }, /^INLET_SHUTDOWN_TIMEOUT_MS: must be a whole number from 0/],
  ])('names the variable for %o', (env, expected) => {
    expect(() => parseWorkerEnv(env)).toThrow(expected);
  });
});
