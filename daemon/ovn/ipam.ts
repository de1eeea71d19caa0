/**
 * Address allocation for a logical switch, pure (cf. host-local's allocator): the caller gives the
 * switch's settings and every address in use; the result is committed by one NB transaction
 * guarded against concurrent changes (see ports.ts), so the NB stays the only source of truth.
 *
 * Settings follow OVN's own IPAM keys in Logical_Switch other_config: `subnet` (IPv4 CIDR) and
 * `exclude_ips` (space-separated addresses and `a..b` ranges). The network and broadcast
 * addresses and the first host address (left for a gateway) are never handed out.
 */
import { randomBytes } from 'node:crypto';
import { bigIntToIp, ipToBigInt, parseSubnet, familyOf, type Subnet } from '../lib/ip.ts';

export interface IpamSettings {
  subnet: Subnet | undefined;
  excluded: Array<[bigint, bigint]>;
}

export class IpamConfigError extends Error {
  override name = 'IpamConfigError';
}

export function parseIpamSettings(otherConfig: ReadonlyMap<string, string>): IpamSettings {
  const subnetText = otherConfig.get('subnet');
  let subnet: Subnet | undefined;
  if (subnetText !== undefined && subnetText !== '') {
    subnet = parseSubnet(subnetText.trim());
    if (subnet === undefined || subnet.family !== 4) throw new IpamConfigError(`other_config:subnet ${JSON.stringify(subnetText)} is not an IPv4 CIDR`);
  }
  const excluded: Array<[bigint, bigint]> = [];
  for (const item of (otherConfig.get('exclude_ips') ?? '').split(/\s+/)) {
    if (item === '') continue;
    const [from = '', to = from] = item.split('..');
    if (familyOf(from) !== 4 || familyOf(to) !== 4) {
      throw new IpamConfigError(`other_config:exclude_ips item ${JSON.stringify(item)} is not an IPv4 address or range`);
    }
    excluded.push([ipToBigInt(from), ipToBigInt(to)]);
  }
  return { subnet, excluded };
}

/** First host address of the subnet: where a gateway sits by convention. */
export function conventionalGateway(subnet: Subnet): bigint {
  return subnet.network + 1n;
}

export interface AllocateOptions {
  /** Addresses (as text) already used on the switch by any port, router or dynamic assignment. */
  inUse: { has(address: string): boolean };
  /** Start the search at a random offset (after a conflict with a concurrent allocator). */
  randomStart?: boolean;
}

/** The lowest (or a random) free IPv4 address of the switch, or undefined when the pool is full. */
export function allocateAddress(settings: IpamSettings, options: AllocateOptions): string | undefined {
  const { subnet } = settings;
  if (subnet === undefined) return undefined;
  const first = conventionalGateway(subnet) + 1n;
  const last = subnet.prefixLength >= 31 ? subnet.last : subnet.last - 1n;
  if (first > last) return undefined;
  const size = last - first + 1n;
  const offset = options.randomStart === true ? BigInt(`0x${randomBytes(8).toString('hex')}`) % size : 0n;
  const excluded = (v: bigint): boolean => settings.excluded.some(([a, b]) => v >= a && v <= b);
  for (let i = 0n; i < size; i++) {
    const value = first + ((offset + i) % size);
    if (excluded(value)) continue;
    const text = bigIntToIp(value, subnet.family);
    if (!options.inUse.has(text)) return text;
  }
  return undefined;
}

/** 0a:58 + the IPv4 address, as ovn-kubernetes does: unique on the switch because the IP is. */
export function macForIpv4(address: string): string {
  const value = ipToBigInt(address);
  const bytes = [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 255n));
  return ['0a', '58', ...bytes.map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** A random locally administered unicast MAC for ports without an IPv4 address. */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Addresses a port's `addresses`/`dynamic_addresses` entry uses: "MAC IP...", "dynamic",
 * "router", "unknown". Returns the MAC and the IPs (prefix lengths dropped).
 */
export function parsePortAddresses(entry: string): { mac: string | undefined; ips: string[] } {
  const words = entry.trim().split(/\s+/);
  const [first, ...rest] = words;
  if (first === undefined || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(first)) return { mac: undefined, ips: [] };
  const ips = rest.map((w) => w.split('/')[0] ?? '').filter((w) => familyOf(w) !== undefined);
  return { mac: first.toLowerCase(), ips };
}
