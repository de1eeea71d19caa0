/**
 * How full a logical switch's address pools are, per family: what may be handed out (capacity),
 * what is taken, and what IPAMClaims hold. Pure: the callers give the switch's settings and the
 * addresses they know to be used (the daemon every user on a switch it serves, the controller the
 * guard keys of the switch row). Read by the metrics and the operators' commands.
 */
import { IpamKeys } from '../ovn/ids.ts';
import { familyOf, ipToBigInt, type Family, type Subnet } from '../lib/ip.ts';
import { neverHandedOut, subnetOf, type ExcludedRange, type IpamSettings } from './pool.ts';
import { reservationsOf } from './reservations.ts';

export interface FamilyUsage {
  family: Family;
  /** The subnet, canonical CIDR. */
  subnet: string;
  /** Addresses that may be handed out: the subnet less its own addresses and the excluded ones. */
  capacity: number;
  /** Addresses of the capacity that are taken (reserved ones included). */
  inUse: number;
  /** Addresses of the capacity that IPAMClaims hold. */
  reserved: number;
}

/** Merges overlapping or adjacent ranges of one family, clipped to `subnet`. */
function clippedRanges(subnet: Subnet, excluded: readonly ExcludedRange[]): Array<{ from: bigint; to: bigint }> {
  const clipped = excluded
    .filter((r) => r.family === subnet.family && r.to >= subnet.network && r.from <= subnet.last)
    .map((r) => ({ from: r.from < subnet.network ? subnet.network : r.from, to: r.to > subnet.last ? subnet.last : r.to }))
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const merged: Array<{ from: bigint; to: bigint }> = [];
  for (const r of clipped) {
    const last = merged.at(-1);
    if (last !== undefined && r.from <= last.to + 1n) {
      if (r.to > last.to) last.to = r.to;
    } else merged.push({ ...r });
  }
  return merged;
}

/**
 * How many addresses of `subnet` may ever be handed out (pool.ts neverHandedOut): all of them
 * less the IPv4 network and broadcast addresses (not in /31 and /32), the IPv6 subnet-router
 * anycast address (not in /127 and /128), and the excluded ranges.
 */
export function capacityOf(subnet: Subnet, excluded: readonly ExcludedRange[]): bigint {
  const ranges = clippedRanges(subnet, excluded);
  const inRanges = (value: bigint): boolean => ranges.some((r) => value >= r.from && value <= r.to);
  let size = subnet.last - subnet.network + 1n;
  for (const r of ranges) size -= r.to - r.from + 1n;
  const own = subnet.prefixLength < (subnet.family === 4 ? 31 : 127) ? (subnet.family === 4 ? [subnet.network, subnet.last] : [subnet.network]) : [];
  for (const value of own) if (!inRanges(value)) size -= 1n;
  return size;
}

/**
 * The usage of each subnet of `settings`. `used`: every IP known to be taken on the switch (any
 * order, repeats allowed); `reserved`: those IPAMClaims hold. An address outside the subnets, or
 * one that is never handed out (a router on an excluded gateway), is not counted.
 */
export function addressUsage(settings: IpamSettings, used: Iterable<string>, reserved: Iterable<string>): FamilyUsage[] {
  const count = (addresses: Iterable<string>): Map<string, number> => {
    const seen = new Set<string>();
    const perSubnet = new Map<string, number>();
    for (const address of addresses) {
      const family = familyOf(address);
      if (family === undefined) continue;
      // One text per address (IPv6 has many spellings).
      const key = `${family}/${ipToBigInt(address)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const subnet = subnetOf(settings, address);
      if (subnet === undefined || neverHandedOut(settings, address) !== undefined) continue;
      perSubnet.set(subnet.cidr, (perSubnet.get(subnet.cidr) ?? 0) + 1);
    }
    return perSubnet;
  };
  const inUse = count(used);
  const held = count(reserved);
  return settings.subnets.map((subnet) => ({
    family: subnet.family,
    subnet: subnet.cidr,
    capacity: Number(capacityOf(subnet, settings.excluded)),
    inUse: inUse.get(subnet.cidr) ?? 0,
    reserved: held.get(subnet.cidr) ?? 0,
  }));
}

/**
 * What a switch row alone tells of its addresses: the IPs its guard keys hold (guards.ts: every
 * address a port of ovn-multinet or an IPAMClaim holds) and the IPs of its claims' reservations.
 * Addresses other NB clients' ports use without a guard are not in it.
 */
export function guardedAddresses(externalIds: ReadonlyMap<string, string>): { used: string[]; reserved: string[] } {
  const used: string[] = [];
  for (const key of externalIds.keys()) {
    if (!key.startsWith(IpamKeys.address)) continue;
    const address = key.slice(IpamKeys.address.length);
    if (familyOf(address) !== undefined) used.push(address);
  }
  return { used, reserved: reservationsOf(externalIds).flatMap((r) => r.ips) };
}
