/**
 * IPv4 and IPv6 addresses and CIDRs, the one parser every layer uses: text to a typed value
 * (address, family, prefix length), bigint arithmetic for address pools, and the network-order
 * bytes rtnetlink carries. ip-cidr parses IPv6 and formats it canonically. Parsers return
 * undefined for what they do not accept; each caller throws its own error for it.
 */
import IPCIDR from 'ip-cidr';
import { isIP } from 'node:net';

export type Family = 4 | 6;

/** rtnetlink's address families (AF_INET, AF_INET6). */
export const AF_INET = 2;
export const AF_INET6 = 10;
type AddressFamily = typeof AF_INET | typeof AF_INET6;

/** An address with an optional prefix length after a "/" ("10.1.0.5" or "10.1.0.5/24"), as written. */
interface IpPrefix {
  address: string;
  family: Family;
  prefixLength: number | undefined;
}

/** An address with its prefix length ("10.1.0.5/24", "fd00::/64"); host bits allowed. */
interface Cidr extends IpPrefix {
  prefixLength: number;
}

export interface Subnet {
  family: Family;
  /** Canonical CIDR text, e.g. "10.1.0.0/24". */
  cidr: string;
  network: bigint;
  prefixLength: number;
  /** Last address of the subnet (the broadcast address for IPv4). */
  last: bigint;
}

/** An address as rtnetlink carries it: its AF_* family and 4 or 16 network-order bytes. */
export interface IpBytes {
  family: AddressFamily;
  bytes: Buffer;
}

export const bitsOf = (family: Family): number => (family === 4 ? 32 : 128);

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

/**
 * Parses "address" or "address/length" (length in decimal, at most three digits, up to 32 or
 * 128); undefined when the text is neither.
 */
export function parseIpPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = familyOf(address);
  if (family === undefined) return undefined;
  if (slash < 0) return { address, family, prefixLength: undefined };
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > bitsOf(family)) return undefined;
  return { address, family, prefixLength: Number(lengthText) };
}

/** Parses "a.b.c.d/n" or "x::/n" (host bits allowed); undefined when invalid or without a length. */
export function parseCidr(text: string): Cidr | undefined {
  const parsed = parseIpPrefix(text);
  if (parsed === undefined || parsed.prefixLength === undefined) return undefined;
  return { address: parsed.address, family: parsed.family, prefixLength: parsed.prefixLength };
}

/** Parses "a.b.c.d/n" or "x::/n"; host bits must be zero. Returns undefined when invalid. */
export function parseSubnet(text: string): Subnet | undefined {
  const cidr = parseCidr(text);
  if (cidr === undefined) return undefined;
  const { family, prefixLength } = cidr;
  const hostMask = (1n << BigInt(bitsOf(family) - prefixLength)) - 1n;
  const network = ipToBigInt(cidr.address);
  if ((network & hostMask) !== 0n) return undefined;
  return { family, cidr: `${bigIntToIp(network, family)}/${prefixLength}`, network, prefixLength, last: network | hostMask };
}

/** First host address of the subnet: where a gateway sits by convention. */
export function conventionalGateway(subnet: Subnet): bigint {
  return subnet.network + 1n;
}

export function subnetContains(subnet: Subnet, address: string): boolean {
  if (familyOf(address) !== subnet.family) return false;
  const value = ipToBigInt(address);
  return value >= subnet.network && value <= subnet.last;
}

/**
 * Why `mac` (lowercase, "xx:xx:xx:xx:xx:xx") can never be an interface's, or undefined: a
 * multicast MAC (the broadcast one included) or all zeros. Every MAC a request names is checked.
 */
export function macRefusal(mac: string): string | undefined {
  if (mac === '00:00:00:00:00:00') return 'all zeros';
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) return mac === 'ff:ff:ff:ff:ff:ff' ? 'the broadcast MAC' : 'a multicast MAC';
  return undefined;
}

/** 0a:58 + the IPv4 address, as ovn-kubernetes does: unique on the switch because the IP is. */
export function macForIpv4(address: string): string {
  const value = ipToBigInt(address);
  const bytes = [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 255n));
  return ['0a', '58', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** An address value in network byte order, with its AF_* family. */
export function bytesOf(value: bigint, family: Family): IpBytes {
  const length = family === 4 ? 4 : 16;
  return { family: family === 4 ? AF_INET : AF_INET6, bytes: Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex') };
}

/** A dotted-quad or IPv6 text address in network byte order; undefined when it is neither. */
export function ipBytes(address: string): IpBytes | undefined {
  const family = familyOf(address);
  return family === undefined ? undefined : bytesOf(ipToBigInt(address), family);
}

/** 4 or 16 network-order bytes as text (IPv6 in RFC 5952 form); undefined for any other length. */
export function ipOfBytes(bytes: Uint8Array): string | undefined {
  const family = bytes.length === 4 ? 4 : bytes.length === 16 ? 6 : undefined;
  return family === undefined ? undefined : bigIntToIp(BigInt(`0x${Buffer.from(bytes).toString('hex')}`), family);
}
