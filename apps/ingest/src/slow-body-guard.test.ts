import { describe, expect, it } from 'vitest';
import { SlowBodyGuard, type WatchedBody } from './slow-body-guard.js';

function body(startedAt: number): WatchedBody & { cuts: number; bytes: number } {
  return {
    bytes: 0,
    startedAt,
    windowBytes: 0,
    windowStartedAt: startedAt,
    cuts: 0,
    cut() {
      this.cuts += 1;
    },
  };
}

describe('SlowBodyGuard', () => {
  it('cuts a body that brings too few bytes in a window, or outlasts the timeout, and no other', () => {
    let now = 0;
    const guard = new SlowBodyGuard({
      timeoutMs: 10_000,
      minBytesPerSecond: 100,
      windowMs: 2000,
      now: () => now,
    });
    const idle = body(0);
    const steady = body(0);
    const burst = body(0);
    for (const read of [idle, steady, burst]) guard.watch(read);
    burst.bytes = 100_000;
    for (let second = 1; second <= 4; second += 1) {
      now = second * 1000;
      steady.bytes += 150;
      guard.check();
    }
    expect(idle.cuts).toBe(1);
    // A burst, then nothing: the second window brings nothing.
    expect(burst.cuts).toBe(1);
    expect(steady.cuts).toBe(0);
    now = 10_000;
    steady.bytes += 1000;
    expect(guard.check()).toBe(1);
    expect(steady.cuts).toBe(1);
    expect(guard.watching).toBe(0);
  });
});
