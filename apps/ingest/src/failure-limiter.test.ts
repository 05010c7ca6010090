import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './failure-limiter.js';

describe('FailureLimiter', () => {
  it('refuses a client past its failures to one source until the window ends, and no one else', () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter({ limit: { points: 3, durationSeconds: 60 }, now: () => now });
    for (let i = 0; i < 3; i += 1) {
      expect(limiter.retryAfter('stripe', '198.51.100.1')).toBe(0);
      limiter.failed('stripe', '198.51.100.1');
    }
    expect(limiter.retryAfter('stripe', '198.51.100.1')).toBe(60);
    expect(limiter.retryAfter('github', '198.51.100.1')).toBe(0);
    expect(limiter.retryAfter('stripe', '198.51.100.2')).toBe(0);
    now += 59_500;
    expect(limiter.retryAfter('stripe', '198.51.100.1')).toBe(1);
    now += 500;
    expect(limiter.retryAfter('stripe', '198.51.100.1')).toBe(0);
    limiter.failed('stripe', '198.51.100.1');
    expect(limiter.retryAfter('stripe', '198.51.100.1')).toBe(0);
  });

  it('tracks at most maxClients, dropping ended windows to make room', () => {
    let now = 0;
    const limiter = new FailureLimiter({
      limit: { points: 1, durationSeconds: 1 },
      maxClients: 2,
      now: () => now,
    });
    limiter.failed('s', 'a');
    limiter.failed('s', 'b');
    limiter.failed('s', 'c');
    expect(limiter.tracked).toBe(2);
    expect(limiter.retryAfter('s', 'c')).toBe(0);
    now += 2000;
    limiter.failed('s', 'c');
    expect(limiter.tracked).toBe(1);
    expect(limiter.retryAfter('s', 'c')).toBe(1);
  });
});
