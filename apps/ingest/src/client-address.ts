import { type IpAddress, type IpRanges, normalizeAddress } from '@inlet/config';

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
  const direct = peer === undefined ? undefined : normalizeAddress(peer);
  if (direct === undefined || trustedProxies === undefined || !trustedProxies.contains(direct)) return direct;
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
