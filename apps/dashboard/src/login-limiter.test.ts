import { describe, expect, it } from 'vitest';
import { LoginLimiter } from './login-limiter.js';

describe('LoginLimiter', () => {
  it('refuses an address after its failures fill the window, until the window ends', () => {
    let now = 1_000_000;
    const limiter = new LoginLimiter({ maxFailures: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i += 1) {
      expect(limiter.retryAfterSeconds('a')).toBe(0);
      limiter.fail('a');
    }
    expect(limiter.retryAfterSeconds('a')).toBe(60);
    expect(limiter.retryAfterSeconds('b')).toBe(0);
    now += 59_500;
    expect(limiter.retryAfterSeconds('a')).toBe(1);
    now += 500;
    expect(limiter.retryAfterSeconds('a')).toBe(0);
    limiter.fail('a');
    expect(limiter.retryAfterSeconds('a')).toBe(0);
  });

  it('remembers a bounded number of addresses, forgetting the oldest', () => {
    const limiter = new LoginLimiter({ maxFailures: 1, maxTracked: 100 });
    for (let i = 0; i < 1000; i += 1) limiter.fail(`10.0.${Math.floor(i / 256)}.${i % 256}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
    expect(limiter.retryAfterSeconds('10.0.3.231')).toBeGreaterThan(0);
    expect(limiter.retryAfterSeconds('10.0.0.0')).toBe(0);
  });
});
