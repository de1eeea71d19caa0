/**
 * Address allocation for a logical switch, pure (cf. host-local's allocator): the caller gives the
 * switch's settings and every address in use; the result is committed by one NB transaction
 * guarded against concurrent changes (see guards.ts), so the NB stays the only source of truth.
 *
 * Settings follow OVN's own IPAM keys in Logical_Switch other_config: `subnet` (IPv4 CIDR) and
 * `exclude_ips` (space-separated addresses and `a..b` ranges); switches ovn-multinet creates also
 * carry their IPv4 and IPv6 subnets in external_ids. One address per subnet (dual-stack).
 *
 * What is never handed out, neither by the allocator nor to a static request, is one rule
 * (neverHandedOut): the IPv4 network and broadcast addresses, the IPv6 subnet-router anycast
 * address (all-zero host part), `exclude_ips`, a managed network's `excludeSubnets` and
 * `gateway`. The allocator also leaves the first host address free by convention (a gateway
 * sits there); a static request may take it. Router ports' addresses and MACs are in use
 * (in-use.ts) and never requestable either, nor are multicast and all-zero MACs (macRefusal).
 */
import { randomBytes } from 'node:crypto';
import { IpamKeys } from '../ovn/ids.ts';
import { bigIntToIp, conventionalGateway, ipToBigInt, parseSubnet, familyOf, subnetContains, type Family, type Subnet } from '../lib/ip.ts';
import { IpamConfigError } from '../errors.ts';

export interface ExcludedRange {
  family: Family;
  from: bigint;
  to: bigint;
  /** What excludes it, as a refused request is told. */
  source: string;
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
  // A managed network's own settings first: they name what its definition says (its IPv4
  // excludeSubnets are in exclude_ips too, for OVN).
  const excluded: ExcludedRange[] = [];
  const gateways = (externalIds.get(IpamKeys.gateways) ?? '').split(',').filter((g) => g !== '');
  for (const gw of gateways) {
    const family = familyOf(gw);
    if (family === undefined) throw new IpamConfigError(`external_ids:${IpamKeys.gateways} item ${JSON.stringify(gw)} is not an address`);
    excluded.push({ family, from: ipToBigInt(gw), to: ipToBigInt(gw), source: `the network's gateway ${gw}` });
  }
  for (const range of parseCidrList(externalIds.get(IpamKeys.excludeSubnets), `external_ids:${IpamKeys.excludeSubnets}`)) {
    excluded.push({ family: range.family, from: range.network, to: range.last, source: `in the network's excludeSubnets ${range.cidr}` });
  }
  for (const item of (otherConfig.get('exclude_ips') ?? '').split(/\s+/)) {
    if (item === '') continue;
    const [from = '', to = from] = item.split('..');
    if (familyOf(from) !== 4 || familyOf(to) !== 4) {
      throw new IpamConfigError(`other_config:exclude_ips item ${JSON.stringify(item)} is not an IPv4 address or range`);
    }
    excluded.push({ family: 4, from: ipToBigInt(from), to: ipToBigInt(to), source: `in the logical switch's other_config:exclude_ips ${item}` });
  }
  return { subnets, excluded, gateways };
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

/**
 * Why the address `value` of `family` is never handed out, or undefined: the own addresses of
 * its subnet (IPv4 network and broadcast, except in /31 and /32; the IPv6 subnet-router anycast
 * address, except in /127 and /128), then the first range of `excluded` that holds it.
 */
function refusedIn(family: Family, subnet: Subnet | undefined, excluded: readonly ExcludedRange[], value: bigint): string | undefined {
  if (subnet !== undefined && subnet.prefixLength < (family === 4 ? 31 : 127)) {
    if (value === subnet.network) return `the ${family === 4 ? 'network' : 'subnet-router anycast'} address of ${subnet.cidr}`;
    if (family === 4 && value === subnet.last) return `the broadcast address of ${subnet.cidr}`;
  }
  return excluded.find((r) => r.family === family && value >= r.from && value <= r.to)?.source;
}

/**
 * Why `address` may never be handed out with `settings`, by the allocator or to a static request
 * (runtimeConfig.ips, a pod's selection element, an IPAMClaim's first pod), or undefined.
 */
export function neverHandedOut(settings: IpamSettings, address: string): string | undefined {
  const family = familyOf(address);
  if (family === undefined) return undefined;
  return refusedIn(family, settings.subnets.find((s) => subnetContains(s, address)), settings.excluded, ipToBigInt(address));
}

/**
 * The allocator's pool of `subnet`: from after the first host address (left for a gateway) to the
 * last; refusedIn's addresses in it are skipped.
 */
function poolBounds(subnet: Subnet): { first: bigint; last: bigint } {
  return { first: conventionalGateway(subnet) + 1n, last: subnet.last };
}

/** Whether the allocator may hand out `address` from `subnet` (false for another family's address or a MAC). */
export function inPool(subnet: Subnet, excludedRanges: readonly ExcludedRange[], address: string): boolean {
  const { first, last } = poolBounds(subnet);
  if (familyOf(address) !== subnet.family) return false;
  const value = ipToBigInt(address);
  return value >= first && value <= last && refusedIn(subnet.family, subnet, excludedRanges, value) === undefined;
}

/** How many addresses the allocator can hand out from `subnet` in all: its pool less what refusedIn refuses. */
export function poolCapacity(subnet: Subnet, excludedRanges: readonly ExcludedRange[]): bigint {
  const { first, last } = poolBounds(subnet);
  if (first > last) return 0n;
  // refusedIn's rules as ranges: the subnet's own addresses, then the excluded ranges.
  const refused: Array<{ from: bigint; to: bigint }> = excludedRanges.filter((r) => r.family === subnet.family).map((r) => ({ from: r.from, to: r.to }));
  if (subnet.prefixLength < (subnet.family === 4 ? 31 : 127)) {
    refused.push({ from: subnet.network, to: subnet.network });
    if (subnet.family === 4) refused.push({ from: subnet.last, to: subnet.last });
  }
  let count = last - first + 1n;
  let covered = first - 1n;
  for (const r of refused.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))) {
    const from = r.from > covered + 1n ? r.from : covered + 1n;
    const to = r.to < last ? r.to : last;
    if (to >= from) {
      count -= to - from + 1n;
      covered = to;
    }
  }
  return count;
}

/** The lowest (or a random) free address of `subnet`, or undefined when the pool is full. */
export function allocateAddress(subnet: Subnet, excludedRanges: readonly ExcludedRange[], options: AllocateOptions): string | undefined {
  // The network and broadcast addresses are refusedIn's; the first host address is left for a gateway.
  const { first, last } = poolBounds(subnet);
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
    if (refusedIn(subnet.family, subnet, excluded, value) !== undefined) continue;
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
