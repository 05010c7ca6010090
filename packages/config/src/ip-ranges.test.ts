import { describe, expect, it } from 'vitest';
import { IpRanges, ipRangeListFromEnv, normalizeAddress, parseIpRange } from './ip-ranges.js';

describe('normalizeAddress', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4', 'ipv4'],
    [' 1.2.3.4 ', '1.2.3.4', 'ipv4'],
    ['1.2.3.4:8443', '1.2.3.4', 'ipv4'],
    ['::ffff:1.2.3.4', '1.2.3.4', 'ipv4'],
    ['::FFFF:1.2.3.4', '1.2.3.4', 'ipv4'],
    ['::ffff:102:304', '1.2.3.4', 'ipv4'],
    ['0:0:0:0:0:ffff:0102:0304', '1.2.3.4', 'ipv4'],
    ['[::ffff:1.2.3.4]:443', '1.2.3.4', 'ipv4'],
    ['2001:DB8:0:0::1', '2001:db8::1', 'ipv6'],
    ['[2001:db8::1]', '2001:db8::1', 'ipv6'],
    ['[2001:db8::1]:8080', '2001:db8::1', 'ipv6'],
    ['fe80::1%eth0', 'fe80::1', 'ipv6'],
    ['::1', '::1', 'ipv6'],
  ])('%s is %s', (text, address, family) => {
    expect(normalizeAddress(text)).toEqual({ address, family });
  });

  it.each(['', 'unknown', '1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4:port', '::g', '[::1', 'a\r\nb'])(
    'refuses %j',
    (text) => {
      expect(normalizeAddress(text)).toBeUndefined();
    },
  );
});

describe('parseIpRange', () => {
  it.each([
    ['192.0.2.0/24', { address: '192.0.2.0', family: 'ipv4', prefix: 24 }],
    ['192.0.2.7', { address: '192.0.2.7', family: 'ipv4', prefix: 32 }],
    ['2001:db8::/32', { address: '2001:db8::', family: 'ipv6', prefix: 32 }],
    ['::1', { address: '::1', family: 'ipv6', prefix: 128 }],
    ['::ffff:192.0.2.0/120', { address: '192.0.2.0', family: 'ipv4', prefix: 24 }],
    ['0.0.0.0/0', { address: '0.0.0.0', family: 'ipv4', prefix: 0 }],
  ])('reads %s', (text, expected) => {
    expect(parseIpRange(text)).toEqual(expected);
  });

  it.each([
    '192.0.2.0/33',
    '2001:db8::/129',
    '192.0.2.0/',
    '192.0.2.0/-1',
    '192.0.2.0/2a',
    '192.0.2.0:80',
    '[2001:db8::]/32',
    'fe80::1%eth0/64',
    '::ffff:192.0.2.0/95',
    'example.com',
    '',
  ])('refuses %j', (text) => {
    const parsed = parseIpRange(text);
    expect(parsed).toHaveProperty('error');
    expect('error' in parsed && parsed.error).toContain('is not an IP address or CIDR range');
  });
});

describe('IpRanges', () => {
  const ranges = IpRanges.parse(['192.30.252.0/22', '2606:50c0::/32', '10.1.2.3']);
  const contains = (text: string) => ranges.contains(normalizeAddress(text));

  it('admits addresses inside any range, IPv4, IPv6 and IPv4-mapped IPv6', () => {
    expect(contains('192.30.252.1')).toBe(true);
    expect(contains('192.30.255.254')).toBe(true);
    expect(contains('::ffff:192.30.253.9')).toBe(true);
    expect(contains('2606:50c0:8000::154')).toBe(true);
    expect(contains('10.1.2.3')).toBe(true);
  });

  it('refuses addresses outside them, and anything that is not an address', () => {
    expect(contains('192.30.251.255')).toBe(false);
    expect(contains('192.30.256.0')).toBe(false);
    expect(contains('10.1.2.4')).toBe(false);
    expect(contains('2606:50c1::1')).toBe(false);
    expect(contains('::ffff:10.1.2.4')).toBe(false);
    expect(contains('garbage')).toBe(false);
    expect(ranges.contains(undefined)).toBe(false);
  });

  it('matches an IPv4 range given in mapped form', () => {
    const mapped = IpRanges.parse(['::ffff:1.2.3.0/120']);
    expect(mapped.contains(normalizeAddress('1.2.3.200'))).toBe(true);
    expect(mapped.contains(normalizeAddress('::ffff:1.2.3.200'))).toBe(true);
    expect(mapped.contains(normalizeAddress('1.2.4.1'))).toBe(false);
  });

  it('throws on an invalid entry', () => {
    expect(() => IpRanges.parse(['10.0.0.0/8', 'nope'])).toThrow(/"nope" is not an IP address/);
  });
});

describe('ipRangeListFromEnv', () => {
  it('reads a comma-separated list, ignoring spaces and empty items', () => {
    expect(ipRangeListFromEnv.parse(' 10.0.0.0/8, fd00::/8,,')).toEqual(['10.0.0.0/8', 'fd00::/8']);
  });

  it('names the bad item', () => {
    const result = ipRangeListFromEnv.safeParse('10.0.0.0/8,10.0.0.0/40');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([1]);
    expect(result.error?.issues[0]?.message).toContain('"10.0.0.0/40"');
  });
});
