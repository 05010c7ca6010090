import { describe, expect, it } from 'vitest';
import { addressKey, type LoginAttempt, LoginLimiter } from './login-limiter.js';

const KNOWN = new Set(['admin', 'viewer']);
const from = (address: string, user: string | null = null, device: string | null = null): LoginAttempt => ({
  address,
  user,
  knownUser: user !== null && KNOWN.has(user),
  device,
});

/** A limiter on a clock the test moves, with the defaults: 5 free failures, 1 s doubling to 15 min. */
function limiterAt(start = 1_000_000) {
  const clock = { now: start };
  return { clock, limiter: new LoginLimiter({ now: () => clock.now }) };
}

describe('LoginLimiter', () => {
  it('lets a few failures through, then makes each further attempt wait longer, up to 15 minutes', () => {
    const { clock, limiter } = limiterAt();
    const attacker = from('192.0.2.7');
    for (let i = 0; i < 5; i += 1) {
      expect(limiter.retryAfterSeconds(attacker)).toBe(0);
      limiter.fail(attacker);
    }
    expect(limiter.retryAfterSeconds(attacker)).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 14; i += 1) {
      limiter.fail(attacker);
      const wait = limiter.retryAfterSeconds(attacker);
      waits.push(wait);
      clock.now += wait * 1000;
      expect(limiter.retryAfterSeconds(attacker)).toBe(0);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]);
  });

  it('forgets a key after an hour without failures', () => {
    const { clock, limiter } = limiterAt();
    const attacker = from('192.0.2.7');
    for (let i = 0; i < 8; i += 1) limiter.fail(attacker);
    expect(limiter.retryAfterSeconds(attacker)).toBe(4);
    clock.now += 59 * 60_000;
    limiter.fail(attacker);
    expect(limiter.retryAfterSeconds(attacker)).toBe(8);
    clock.now += 60 * 60_000;
    limiter.fail(attacker);
    expect(limiter.retryAfterSeconds(attacker)).toBe(0);
  });

  it('counts a configured user name across every address, so spreading guesses out gains nothing', () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 6; i += 1) limiter.fail(from(`198.51.100.${i}`, 'admin'));
    expect(limiter.retryAfterSeconds(from('203.0.113.9', 'admin'))).toBe(1);
    // Each of those addresses failed once: none of them is held back on its own account.
    expect(limiter.retryAfterSeconds(from('198.51.100.1', 'viewer'))).toBe(0);
    expect(limiter.retryAfterSeconds(from('198.51.100.1'))).toBe(0);
  });

  it('counts a made-up user name too, apart from the real ones, so a 429 does not tell them apart', () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 6; i += 1) limiter.fail(from(`198.51.100.${i}`, 'root'));
    expect(limiter.retryAfterSeconds(from('203.0.113.9', 'root'))).toBe(1);
    expect(limiter.retryAfterSeconds(from('203.0.113.9', 'admin'))).toBe(0);
    // A flood of made-up names forgets the oldest of them, never a real user's count.
    const small = new LoginLimiter({ maxTracked: 10 });
    for (let i = 0; i < 6; i += 1) small.fail(from(`198.51.100.${i}`, 'admin'));
    for (let i = 0; i < 100; i += 1) small.fail(from(`203.0.113.${i}`, `made-up-${i}`));
    expect(small.retryAfterSeconds(from('192.0.2.200', 'admin'))).toBeGreaterThan(0);
    expect(small.retryAfterSeconds(from('192.0.2.200', 'made-up-0'))).toBe(0);
  });

  it('counts an IPv6 client by its /64, and an IPv4-mapped one as IPv4', () => {
    const { limiter } = limiterAt();
    for (let i = 1; i <= 6; i += 1) limiter.fail(from(`2001:db8:1:2:${i.toString(16)}::${i}`));
    expect(limiter.retryAfterSeconds(from('2001:db8:1:2:ffff:ffff:ffff:ffff'))).toBe(1);
    expect(limiter.retryAfterSeconds(from('2001:db8:1:3::1'))).toBe(0);
    for (let i = 0; i < 6; i += 1) limiter.fail(from('::ffff:192.0.2.1'));
    expect(limiter.retryAfterSeconds(from('192.0.2.1'))).toBe(1);
  });

  it('counts a request with a device cookie under that device only', () => {
    const { limiter } = limiterAt();
    for (let i = 0; i < 20; i += 1) limiter.fail(from('10.0.0.1', 'admin'));
    expect(limiter.retryAfterSeconds(from('10.0.0.1', 'admin'))).toBeGreaterThan(0);
    expect(limiter.retryAfterSeconds(from('10.0.0.1', 'admin', 'device-a'))).toBe(0);
    for (let i = 0; i < 6; i += 1) limiter.fail(from('10.0.0.2', 'admin', 'device-a'));
    expect(limiter.retryAfterSeconds(from('10.0.0.2', 'admin', 'device-a'))).toBe(1);
    expect(limiter.retryAfterSeconds(from('10.0.0.2', 'admin', 'device-b'))).toBe(0);
    expect(limiter.retryAfterSeconds(from('10.0.0.2'))).toBe(0);
  });

  it('remembers a bounded number of addresses, forgetting the stalest', () => {
    const limiter = new LoginLimiter({ freeFailures: 0, maxTracked: 100 });
    for (let i = 0; i < 1000; i += 1) limiter.fail(from(`10.0.${Math.floor(i / 256)}.${i % 256}`));
    expect(limiter.trackedAddresses).toBeLessThanOrEqual(100);
    expect(limiter.retryAfterSeconds(from('10.0.3.231'))).toBeGreaterThan(0);
    expect(limiter.retryAfterSeconds(from('10.0.0.0'))).toBe(0);
  });
});

describe('addressKey', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:DB8:0:0:1:2:3:4', '2001:db8:0:0::/64'],
    ['2001:db8:a:b:c::', '2001:db8:a:b::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['unknown', 'unknown'],
  ])('keys %s as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
