// IPv4/IPv6 addresses and prefixes as rtnetlink carries them: network-order bytes plus AF_* family.
// Text parsing and formatting come from daemon/lib/ip.ts.
import { bigIntToIp, familyOf, ipToBigInt, parseSubnet, type Family } from '../lib/ip.ts';
import { InvalidAddressError } from '../errors.ts';

export const AF_INET = 2;
export const AF_INET6 = 10;

export type AddressFamily = typeof AF_INET | typeof AF_INET6;

export interface EncodedIp {
  family: AddressFamily;
  bytes: Buffer;
}

export interface EncodedPrefix extends EncodedIp {
  prefixLength: number;
}

function encode(value: bigint, family: Family): EncodedIp {
  const length = family === 4 ? 4 : 16;
  return { family: family === 4 ? AF_INET : AF_INET6, bytes: Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex') };
}

/** Encodes a dotted-quad or IPv6 text address. */
export function parseIp(text: string): EncodedIp {
  const family = familyOf(text);
  if (family === undefined) throw new InvalidAddressError(text, 'not an IPv4 or IPv6 address');
  return encode(ipToBigInt(text), family);
}

/** Formats 4 or 16 network-order bytes (IPv6 in RFC 5952 form). */
export function formatIp(bytes: Uint8Array): string {
  const family = bytes.length === 4 ? 4 : bytes.length === 16 ? 6 : undefined;
  const hex = Buffer.from(bytes).toString('hex');
  if (family === undefined) throw new InvalidAddressError(hex, 'expected 4 or 16 bytes');
  return bigIntToIp(BigInt(`0x${hex}`), family);
}

/** Encodes an interface address with its prefix length (host bits allowed). */
export function encodePrefix(address: string, prefixLength: number): EncodedPrefix {
  const ip = parseIp(address);
  const maxLength = ip.bytes.length * 8;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > maxLength) {
    throw new InvalidAddressError(`${address}/${prefixLength}`, `prefix length must be 0..${maxLength}`);
  }
  return { ...ip, prefixLength };
}

/** Encodes a route destination `a.b.c.d/n` or `x::/n`; host bits must be zero, as the kernel demands. */
export function parseCidr(text: string): EncodedPrefix {
  const subnet = parseSubnet(text);
  if (subnet === undefined) throw new InvalidAddressError(text, 'expected address/prefix with zero host bits');
  return { ...encode(subnet.network, subnet.family), prefixLength: subnet.prefixLength };
}
