/** Address arithmetic on bigints, with ip-cidr for parsing and canonical formatting. */
import IPCIDR from 'ip-cidr';
import { isIP } from 'node:net';

export type Family = 4 | 6;

export interface Subnet {
  family: Family;
  /** Canonical CIDR text, e.g. "10.1.0.0/24". */
  cidr: string;
  network: bigint;
  prefixLength: number;
  /** Last address of the subnet (the broadcast address for IPv4). */
  last: bigint;
}

const bits = (family: Family): number => (family === 4 ? 32 : 128);

export function familyOf(address: string): Family | undefined {
  const f = isIP(address);
  return f === 4 || f === 6 ? f : undefined;
}

export function ipToBigInt(address: string): bigint {
  const family = familyOf(address);
  if (family === 4) return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  if (family === 6) {
    const full = (IPCIDR.createAddress(address) as { canonicalForm(): string }).canonicalForm();
    return BigInt(`0x${full.replaceAll(':', '')}`);
  }
  throw new RangeError(`not an IP address: ${JSON.stringify(address)}`);
}

export function bigIntToIp(value: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  const hex = value.toString(16).padStart(32, '0');
  const groups = hex.match(/.{4}/g) ?? [];
  return (IPCIDR.createAddress(groups.join(':')) as { correctForm(): string }).correctForm();
}

/** Parses "a.b.c.d/n" or "x::/n"; host bits must be zero. Returns undefined when invalid. */
export function parseSubnet(cidr: string): Subnet | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const address = cidr.slice(0, slash);
  const lengthText = cidr.slice(slash + 1);
  const family = familyOf(address);
  if (family === undefined || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  const width = bits(family);
  if (prefixLength > width) return undefined;
  const hostMask = (1n << BigInt(width - prefixLength)) - 1n;
  const network = ipToBigInt(address);
  if ((network & hostMask) !== 0n) return undefined;
  return { family, cidr: `${bigIntToIp(network, family)}/${prefixLength}`, network, prefixLength, last: network | hostMask };
}

export function subnetContains(subnet: Subnet, address: string): boolean {
  if (familyOf(address) !== subnet.family) return false;
  const value = ipToBigInt(address);
  return value >= subnet.network && value <= subnet.last;
}

/** 0a:58 + the IPv4 address, as ovn-kubernetes does: unique on the switch because the IP is. */
export function macForIpv4(address: string): string {
  const value = ipToBigInt(address);
  const bytes = [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 255n));
  return ['0a', '58', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
