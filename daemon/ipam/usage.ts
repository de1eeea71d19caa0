/**
 * How full a logical switch is, per subnet (pure): the allocator's capacity (pool.ts: its pool
 * less the addresses never handed out) and the addresses of that pool that are held, counted from
 * the switch's guard keys (guards.ts: every address a port of ovn-multinet or an IPAMClaim holds
 * has one, so the switch row alone tells, without its ports). Addresses that an admin's ports or
 * router ports hold carry no guard key and are not counted; neither is the first host address,
 * outside the pool (a static request may take it).
 */
import type { LogicalSwitch as SwitchRow } from '../ovsdb/models/nb.ts';
import { IpamKeys } from '../ovn/ids.ts';
import type { Family } from '../lib/ip.ts';
import { inPool, parseIpamSettings, poolCapacity } from './pool.ts';
import { parseHolder } from './guards.ts';

export interface AddressUsage {
  family: Family;
  /** The subnet, as a CIDR. */
  subnet: string;
  /** Addresses the allocator can hand out in all. */
  capacity: bigint;
  /** Of those, held by a port or an IPAMClaim. */
  used: bigint;
  /** Of the used, held by an IPAMClaim (its reservation, or its pod's port). */
  reserved: bigint;
}

/** Capacity and use of each subnet of the switch (none: no subnet). Throws IpamConfigError for unreadable settings. */
export function addressUsage(sw: Pick<SwitchRow, 'other_config' | 'external_ids'>): AddressUsage[] {
  const settings = parseIpamSettings(sw.other_config, sw.external_ids);
  const usage = settings.subnets.map((subnet) => ({ subnet, family: subnet.family, capacity: poolCapacity(subnet, settings.excluded), used: 0n, reserved: 0n }));
  for (const [key, value] of sw.external_ids) {
    if (!key.startsWith(IpamKeys.address)) continue;
    const address = key.slice(IpamKeys.address.length);
    const counted = usage.find((u) => inPool(u.subnet, settings.excluded, address));
    if (counted === undefined) continue;
    counted.used++;
    const holder = parseHolder(value);
    if (holder !== undefined && 'claim' in holder) counted.reserved++;
  }
  return usage.map(({ subnet, family, capacity, used, reserved }) => ({ family, subnet: subnet.cidr, capacity, used, reserved }));
}
