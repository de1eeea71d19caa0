/**
 * How full a logical switch is, per subnet (pure): the allocator's capacity (pool.ts: its pool
 * less the addresses never handed out) and the addresses of that pool that are taken and that
 * IPAMClaims hold. The first host address is outside the pool (left for a gateway; a static
 * request may take it) and is not counted, nor is anything outside the subnets.
 *
 * Two readers: a switch row alone tells what ovn-multinet's ports and IPAMClaims hold, by its
 * guard keys (guards.ts), without its ports (addressUsage: the controller); a daemon that sees
 * every port of a switch also counts the addresses other NB clients' ports and routers use
 * (usageOf with in-use.ts ipsUsedOn).
 */
import type { LogicalSwitch as SwitchRow } from '../ovsdb/models/nb.ts';
import { IpamKeys } from '../ovn/ids.ts';
import { familyOf, ipToBigInt, type Family } from '../lib/ip.ts';
import { inPool, parseIpamSettings, poolCapacity, type IpamSettings } from './pool.ts';
import { parseHolder } from './guards.ts';
import { reservationsOf } from './reservations.ts';

export interface AddressUsage {
  family: Family;
  /** The subnet, as a CIDR. */
  subnet: string;
  /** Addresses the allocator can hand out in all. */
  capacity: bigint;
  /** Of those, taken. */
  used: bigint;
  /** Of the used, held by an IPAMClaim (its reservation, or its pod's port). */
  reserved: bigint;
}

/**
 * The usage of each subnet of `settings`. `used`: every IP known to be taken on the switch (any
 * order, repeats and other spellings allowed); `reserved`: those IPAMClaims hold.
 */
export function usageOf(settings: IpamSettings, used: Iterable<string>, reserved: Iterable<string>): AddressUsage[] {
  const count = (addresses: Iterable<string>): bigint[] => {
    const seen = new Set<string>();
    const perSubnet = settings.subnets.map(() => 0n);
    for (const address of addresses) {
      const family = familyOf(address);
      if (family === undefined) continue;
      const key = `${family}/${ipToBigInt(address)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const i = settings.subnets.findIndex((subnet) => inPool(subnet, settings.excluded, address));
      if (i >= 0) perSubnet[i] = (perSubnet[i] ?? 0n) + 1n;
    }
    return perSubnet;
  };
  const inUse = count(used);
  const held = count(reserved);
  return settings.subnets.map((subnet, i) => ({ family: subnet.family, subnet: subnet.cidr, capacity: poolCapacity(subnet, settings.excluded), used: inUse[i] ?? 0n, reserved: held[i] ?? 0n }));
}

/**
 * The IPs a switch row holds (MAC keys left out): its guard keys' and its IPAMClaims'
 * reservations'; reserved: those of the reservations and of guard keys whose holder is a claim.
 * (A reservation's addresses have guard keys of the claim; either tells.)
 */
export function guardedAddresses(externalIds: ReadonlyMap<string, string>): { used: string[]; reserved: string[] } {
  const reserved = reservationsOf(externalIds).flatMap((r) => r.ips);
  const used = [...reserved];
  for (const [key, value] of externalIds) {
    if (!key.startsWith(IpamKeys.address)) continue;
    const address = key.slice(IpamKeys.address.length);
    if (familyOf(address) === undefined) continue;
    used.push(address);
    const holder = parseHolder(value);
    if (holder !== undefined && 'claim' in holder) reserved.push(address);
  }
  return { used, reserved };
}

/** Capacity and use of each subnet of the switch, from its row alone (none: no subnet). Throws IpamConfigError for unreadable settings. */
export function addressUsage(sw: Pick<SwitchRow, 'other_config' | 'external_ids'>): AddressUsage[] {
  const { used, reserved } = guardedAddresses(sw.external_ids);
  return usageOf(parseIpamSettings(sw.other_config, sw.external_ids), used, reserved);
}
