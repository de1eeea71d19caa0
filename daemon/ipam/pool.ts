/**
 * Address allocation for a logical switch, pure (cf. host-local's allocator): the caller gives the
 * switch's settings and every address in use; the result is committed by one NB transaction
 * guarded against concurrent changes (see guards.ts), so the NB stays the only source of truth.
 *
 * Settings follow OVN's own IPAM keys in Logical_Switch other_config: `subnet` (IPv4 CIDR) and
 * `exclude_ips` (space-separated addresses and `a..b` ranges); switches ovn-multinet creates also
 * carry their IPv4 and IPv6 subnets in external_ids. One address per subnet (dual-stack). The
 * network and broadcast addresses and the first host address (left for a gateway) are never
 * handed out.
 */
import { randomBytes } from 'node:crypto';
import { IpamKeys } from '../ovn/ids.ts';
import { bigIntToIp, ipToBigInt, parseSubnet, familyOf, subnetContains, type Family, type Subnet } from '../lib/ip.ts';
import { IpamConfigError } from '../errors.ts';

export interface ExcludedRange {
  family: Family;
  from: bigint;
  to: bigint;
}

export interface IpamSettings {
  /** At most one per family: IPv4 from other_config:subnet or ours, IPv6 from ours. */
  subnets: Subnet[];
  excluded: ExcludedRange[];
  /** Gateways a managed network declares (router ports give the others). */
  gateways: string[];
}

function parseCidrList(text: string | undefined, where: string): Subnet[] {
  return (text ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => {
      const subnet = parseSubnet(c);
      if (subnet === undefined) throw new IpamConfigError(`${where} ${JSON.stringify(c)} is not a CIDR`);
      return subnet;
    });
}

/**
 * A switch's address settings: OVN's own keys in other_config (`subnet`, `exclude_ips` with
 * `a..b` ranges, IPv4) and, for switches ovn-multinet manages, its external_ids (IPv4 and IPv6).
 */
export function parseIpamSettings(otherConfig: ReadonlyMap<string, string>, externalIds: ReadonlyMap<string, string> = new Map()): IpamSettings {
  const subnets: Subnet[] = [];
  const subnetText = otherConfig.get('subnet');
  if (subnetText !== undefined && subnetText !== '') {
    const subnet = parseSubnet(subnetText.trim());
    if (subnet === undefined || subnet.family !== 4) throw new IpamConfigError(`other_config:subnet ${JSON.stringify(subnetText)} is not an IPv4 CIDR`);
    subnets.push(subnet);
  }
  for (const subnet of parseCidrList(externalIds.get(IpamKeys.subnets), `external_ids:${IpamKeys.subnets}`)) {
    if (!subnets.some((s) => s.family === subnet.family)) subnets.push(subnet);
  }
  const excluded: ExcludedRange[] = [];
  for (const item of (otherConfig.get('exclude_ips') ?? '').split(/\s+/)) {
    if (item === '') continue;
    const [from = '', to = from] = item.split('..');
    if (familyOf(from) !== 4 || familyOf(to) !== 4) {
      throw new IpamConfigError(`other_config:exclude_ips item ${JSON.stringify(item)} is not an IPv4 address or range`);
    }
    excluded.push({ family: 4, from: ipToBigInt(from), to: ipToBigInt(to) });
  }
  for (const range of parseCidrList(externalIds.get(IpamKeys.excludeSubnets), `external_ids:${IpamKeys.excludeSubnets}`)) {
    excluded.push({ family: range.family, from: range.network, to: range.last });
  }
  const gateways = (externalIds.get(IpamKeys.gateways) ?? '').split(',').filter((g) => g !== '');
  for (const gw of gateways) {
    const family = familyOf(gw);
    if (family === undefined) throw new IpamConfigError(`external_ids:${IpamKeys.gateways} item ${JSON.stringify(gw)} is not an address`);
    excluded.push({ family, from: ipToBigInt(gw), to: ipToBigInt(gw) });
  }
  return { subnets, excluded, gateways };
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
  /** Otherwise start right after this address (the previous allocation), wrapping around. */
  startAfter?: string | undefined;
}

/** How many candidates are looked at before a subnet counts as full (IPv6 subnets are vast). */
const MAX_PROBES = 1n << 17n;

/** The lowest (or a random) free address of `subnet`, or undefined when the pool is full. */
export function allocateAddress(subnet: Subnet, excludedRanges: readonly ExcludedRange[], options: AllocateOptions): string | undefined {
  const first = conventionalGateway(subnet) + 1n;
  const last = subnet.family === 4 && subnet.prefixLength < 31 ? subnet.last - 1n : subnet.last;
  if (first > last) return undefined;
  const size = last - first + 1n;
  const after = options.startAfter === undefined || familyOf(options.startAfter) !== subnet.family ? undefined : ipToBigInt(options.startAfter);
  const offset =
    options.randomStart === true
      ? BigInt(`0x${randomBytes(16).toString('hex')}`) % size
      : after !== undefined && after >= first && after <= last
        ? (after - first + 1n) % size
        : 0n;
  const excluded = excludedRanges.filter((r) => r.family === subnet.family);
  const probes = size < MAX_PROBES ? size : MAX_PROBES;
  for (let i = 0n; i < probes; i++) {
    const value = first + ((offset + i) % size);
    if (excluded.some((r) => value >= r.from && value <= r.to)) continue;
    const text = bigIntToIp(value, subnet.family);
    if (!options.inUse.has(text)) return text;
  }
  return undefined;
}

/** The subnet of `settings` that holds `address`, if any. */
export function subnetOf(settings: IpamSettings, address: string): Subnet | undefined {
  return settings.subnets.find((s) => subnetContains(s, address));
}

/** A random locally administered unicast MAC for ports without an IPv4 address. */
export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = ((bytes[0] ?? 0) & 0xfc) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
