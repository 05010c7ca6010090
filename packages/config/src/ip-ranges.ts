import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';

export type IpFamily = 'ipv4' | 'ipv6';

/** An address in the one form ranges are compared in (see `normalizeAddress`). */
export interface IpAddress {
  readonly address: string;
  readonly family: IpFamily;
}

const V4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const V6_WITH_PORT = /^\[([^\]]+)\](?::\d{1,5})?$/;
const MAPPED_V4_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * An address as ranges are checked against it, or undefined when `text` is not one: surrounding
 * space, a port (`1.2.3.4:443`, `[::1]:443`), brackets and an IPv6 zone (`%eth0`) dropped, IPv6
 * in its canonical form, and IPv4-mapped IPv6 (`::ffff:1.2.3.4`, as a dual-stack socket reports
 * IPv4 peers) turned into plain IPv4, so `1.2.3.0/24` admits it.
 */
export function normalizeAddress(text: string): IpAddress | undefined {
  let value = text.trim();
  if (isIPv4(value)) return { address: value, family: 'ipv4' };
  const v4 = V4_WITH_PORT.exec(value)?.[1];
  if (v4 !== undefined) return isIPv4(v4) ? { address: v4, family: 'ipv4' } : undefined;
  value = V6_WITH_PORT.exec(value)?.[1] ?? value;
  const zone = value.indexOf('%');
  if (zone >= 0) value = value.slice(0, zone);
  if (!isIPv6(value)) return undefined;
  // The URL parser writes IPv6 canonically (lower case, zeros compressed, a dotted tail in hex), so
  // every spelling of a mapped address ends up as ::ffff:hhhh:hhhh.
  const canonical = new URL(`http://[${value}]/`).hostname.slice(1, -1);
  const mapped = MAPPED_V4_HEX.exec(canonical);
  if (mapped) {
    const high = Number.parseInt(mapped[1] ?? '0', 16);
    const low = Number.parseInt(mapped[2] ?? '0', 16);
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, family: 'ipv4' };
  }
  return { address: canonical, family: 'ipv6' };
}

interface IpRange extends IpAddress {
  readonly prefix: number;
}

/** A CIDR range or a single address, or the reason it is neither. */
export function parseIpRange(text: string): IpRange | { readonly error: string } {
  const invalid = {
    error: `"${text}" is not an IP address or CIDR range (such as 192.0.2.0/24 or 2001:db8::/32)`,
  };
  const slash = text.indexOf('/');
  const head = (slash < 0 ? text : text.slice(0, slash)).trim();
  // A range is a bare address: no port, brackets or zone.
  if (isIP(head) === 0 || head.includes('%')) return invalid;
  const base = normalizeAddress(head);
  if (base === undefined) return invalid;
  const bits = isIPv4(head) ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const digits = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(digits)) return invalid;
    prefix = Number(digits);
    if (prefix > bits) return invalid;
  }
  if (bits === 32 || base.family === 'ipv6') return { ...base, prefix };
  // An IPv4-mapped range (::ffff:1.2.3.0/120) is the IPv4 range it maps; a shorter prefix would
  // reach outside the mapped block.
  if (prefix < 96) return invalid;
  return { ...base, prefix: prefix - 96 };
}

/** A set of address ranges (a source's `allowedIps`, the trusted proxies), checked in constant time per family. */
export class IpRanges {
  private readonly blocks = new BlockList();

  private constructor(readonly ranges: readonly string[]) {}

  /** Throws on an invalid entry: callers validate first with `ipRangeSchema`. */
  static parse(ranges: readonly string[]): IpRanges {
    const parsed = new IpRanges(ranges);
    for (const text of ranges) {
      const range = parseIpRange(text);
      if ('error' in range) throw new Error(range.error);
      parsed.blocks.addSubnet(range.address, range.prefix, range.family);
    }
    return parsed;
  }

  contains(address: IpAddress | undefined): boolean {
    return address !== undefined && this.blocks.check(address.address, address.family);
  }
}

export const ipRangeSchema = z.string().superRefine((value, ctx) => {
  const range = parseIpRange(value);
  if ('error' in range) ctx.addIssue({ code: 'custom', message: range.error });
});

/** A comma-separated list of ranges in one environment variable; empty when unset. */
export const ipRangeListFromEnv = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  )
  .pipe(z.array(ipRangeSchema));
