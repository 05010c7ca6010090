import { isIPv4 } from 'node:net';
import { type IpAddress, type IpRanges, normalizeAddress } from './ip-ranges.js';

const MAPPED_PREFIX = '::ffff:';

/**
 * `normalizeAddress`, with a shortcut for what a socket reports: a plain IPv4 address, or one
 * mapped into IPv6 (`::ffff:1.2.3.4`) by a dual-stack listener. It runs for every delivery.
 */
function peerAddressOf(peer: string): IpAddress | undefined {
  if (peer.startsWith(MAPPED_PREFIX)) {
    const v4 = peer.slice(MAPPED_PREFIX.length);
    if (isIPv4(v4)) return { address: v4, family: 'ipv4' };
  }
  return normalizeAddress(peer);
}

/**
 * The key a client's shares (bodies in flight, failed requests) are counted under: the IPv4
 * address, or the /64 an IPv6 address belongs to, since one IPv6 host is usually handed a whole
 * /64 and could otherwise take a fresh address per request.
 */
export function clientKey(client: IpAddress): string {
  if (client.family === 'ipv4') return client.address;
  const [head = '', tail] = client.address.split('::', 2);
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined && groups.length < 4) {
    const tailGroups = tail === '' ? [] : tail.split(':');
    const zeros = 8 - groups.length - tailGroups.length;
    for (let index = 0; index < zeros; index += 1) groups.push('0');
    groups.push(...tailGroups);
  }
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/**
 * The address a delivery comes from. `peer` is the socket's remote address. Only when that peer is
 * a trusted proxy is X-Forwarded-For read, from the right (each proxy appends the address it
 * saw): the first hop that is not itself a trusted proxy is the client, since everything to its
 * left was written by someone Inlet does not trust. A forged header from an untrusted peer
 * therefore changes nothing. Undefined when the address cannot be known (no socket, a garbled
 * hop), which no `allowedIps` admits.
 */
export function resolveClientAddress(
  peer: string | undefined,
  forwardedFor: () => string | undefined,
  trustedProxies: IpRanges | undefined,
): IpAddress | undefined {
  const direct = peer === undefined ? undefined : peerAddressOf(peer);
  if (
    direct === undefined ||
    trustedProxies === undefined ||
    trustedProxies.ranges.length === 0 ||
    !trustedProxies.contains(direct)
  ) {
    return direct;
  }
  const header = forwardedFor();
  if (header === undefined) return direct;
  const hops = header.split(',');
  let client = direct;
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = normalizeAddress(hops[index] ?? '');
    if (hop === undefined) return undefined;
    client = hop;
    if (!trustedProxies.contains(hop)) return hop;
  }
  // Every hop is a trusted proxy: the farthest one is as close to the client as can be known.
  return client;
}
