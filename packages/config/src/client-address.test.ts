import { describe, expect, it } from 'vitest';
import { clientKey, resolveClientAddress } from './client-address.js';
import { IpRanges } from './ip-ranges.js';

const proxies = IpRanges.parse(['10.0.0.0/8', 'fd00::/8', '192.0.2.10']);
const resolve = (peer: string | undefined, xff?: string, trusted: IpRanges | undefined = proxies) =>
  resolveClientAddress(peer, () => xff, trusted)?.address;

describe('resolveClientAddress', () => {
  it('is the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(resolve('203.0.113.5', '1.2.3.4', undefined)).toBe('203.0.113.5');
    expect(resolve('203.0.113.5', '1.2.3.4', IpRanges.parse([]))).toBe('203.0.113.5');
  });

  it('ignores a forged X-Forwarded-For from an untrusted peer', () => {
    expect(resolve('203.0.113.5', '192.30.252.1')).toBe('203.0.113.5');
    expect(resolve('2001:db8::5', '192.30.252.1, 10.0.0.1')).toBe('2001:db8::5');
  });

  it('takes the hop a trusted proxy added', () => {
    expect(resolve('10.1.2.3', '192.30.252.1')).toBe('192.30.252.1');
    expect(resolve('fd00::1', '2606:50c0::154')).toBe('2606:50c0::154');
    expect(resolve('::ffff:10.1.2.3', '192.30.252.1')).toBe('192.30.252.1');
  });

  it('walks a chain of trusted proxies from the right, to the first hop that is not one', () => {
    expect(resolve('10.0.0.1', '192.30.252.1, 10.0.0.7, 192.0.2.10')).toBe('192.30.252.1');
    // The client's own header said 1.1.1.1; the first proxy appended what it saw.
    expect(resolve('10.0.0.1', '1.1.1.1, 203.0.113.9, 10.0.0.7')).toBe('203.0.113.9');
  });

  it('returns the farthest proxy when every hop is trusted, and the peer when there is no header', () => {
    expect(resolve('10.0.0.1', '10.0.0.2, 10.0.0.3')).toBe('10.0.0.2');
    expect(resolve('10.0.0.1', undefined)).toBe('10.0.0.1');
  });

  it('normalises IPv4-mapped, bracketed and port-carrying hops', () => {
    expect(resolve('10.0.0.1', '::ffff:192.30.252.1')).toBe('192.30.252.1');
    expect(resolve('10.0.0.1', '[2606:50c0::154]:443')).toBe('2606:50c0::154');
    expect(resolve('10.0.0.1', '192.30.252.1:5555')).toBe('192.30.252.1');
    expect(resolve('::ffff:203.0.113.5')).toBe('203.0.113.5');
  });

  it('knows no address when a hop it must read is garbled or the socket has none', () => {
    expect(resolve('10.0.0.1', 'unknown')).toBeUndefined();
    expect(resolve('10.0.0.1', '192.30.252.1, , 10.0.0.2')).toBeUndefined();
    expect(resolve('10.0.0.1', '192.30.252.1\r\nX-Evil: 1')).toBeUndefined();
    expect(resolve(undefined, '192.30.252.1')).toBeUndefined();
    // A garbled hop to the left of the client's is never read.
    expect(resolve('10.0.0.1', 'garbage, 192.30.252.1')).toBe('192.30.252.1');
  });
});

describe('clientKey', () => {
  it('is the IPv4 address, or the /64 of an IPv6 one, however it is written', () => {
    const key = (peer: string) => {
      const address = resolveClientAddress(peer, () => undefined, undefined);
      return address === undefined ? undefined : clientKey(address);
    };
    expect(key('203.0.113.5')).toBe('203.0.113.5');
    expect(key('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(key('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(key('2001:DB8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(key('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(key('::1')).toBe('0:0:0:0::/64');
    expect(key('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
  });
});
