/**
 * What the daemon's scrapes read of its NB view: the address usage of every switch it serves
 * (every port on it in view: scope.ts seesAllPortsOf) and the DHCP_Options rows of ovn-multinet
 * there. Read at scrape time from the cache; the cost grows with the node's served switches.
 */
import { NbTable } from '../ovsdb/models/nb.ts';
import { OWNER_VALUE, OwnerKeys } from '../ovn/ids.ts';
import type { NbClient } from '../ovn/nb.ts';
import type { NbScope } from '../ovn/scope.ts';
import { switchByUuid } from '../ovn/switches.ts';
import { parseIpamSettings } from '../ipam/pool.ts';
import { ipsUsedOn } from '../ipam/in-use.ts';
import { guardedAddresses, usageOf } from '../ipam/usage.ts';
import { IpamConfigError } from '../errors.ts';
import type { LabelledUsage } from './define.ts';

export function servedSwitchUsage(nb: NbClient, scope: NbScope): LabelledUsage[] {
  const found: LabelledUsage[] = [];
  for (const uuid of nb.cache.table(NbTable.Logical_Switch).keys()) {
    if (!scope.seesAllPortsOf(uuid)) continue;
    const sw = switchByUuid(nb, uuid);
    if (sw === undefined) continue;
    let settings;
    try {
      settings = parseIpamSettings(sw.otherConfig, sw.externalIds);
    } catch (err) {
      // A switch whose settings an ADD would refuse (IpamConfigError) has no pool to measure.
      if (err instanceof IpamConfigError) continue;
      throw err;
    }
    found.push({ labels: { switch: sw.name }, usage: usageOf(settings, ipsUsedOn(nb, sw), guardedAddresses(sw.externalIds).reserved) });
  }
  return found;
}

export function ownedDhcpRows(nb: NbClient): number {
  let rows = 0;
  for (const row of nb.cache.table(NbTable.DHCP_Options).values()) if (row.external_ids.get(OwnerKeys.owner) === OWNER_VALUE) rows++;
  return rows;
}
