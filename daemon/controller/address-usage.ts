/**
 * What the controller's scrapes read (metrics/controller-registry.ts): the address usage of every
 * Network's switch as the switch row tells it (ipam/usage.ts addressUsage: guard keys and
 * reservations; the controller does not monitor other clients' ports), and the live migrations in
 * progress among ovn-multinet's ports. Read from the caches at scrape time.
 */
import { NbTable } from '../ovsdb/models/nb.ts';
import { hasTarget } from '../ovn/ids.ts';
import { switchNamed } from '../ovn/switches.ts';
import type { ControllerNbClient } from '../ovn/exposed.ts';
import { definitionOf } from '../k8s/definition.ts';
import { addressUsage } from '../ipam/usage.ts';
import type { LabelledUsage } from '../metrics/define.ts';
import type { NetworkObject } from './objects.ts';

/** The usage of each Network whose spec is valid and whose one switch is in the NB; the others are left out. */
export function networkAddressUsage(networks: readonly NetworkObject[], nb: ControllerNbClient): LabelledUsage[] {
  const found: LabelledUsage[] = [];
  for (const network of networks) {
    try {
      const { switchName } = definitionOf(network.name, network.spec);
      const row = switchNamed(nb, switchName);
      if (row !== undefined) found.push({ labels: { network: network.name, switch: switchName }, usage: addressUsage(row) });
    } catch {
      // An invalid spec, two switches of the name, settings an ADD would refuse: the Network's
      // status says which (sync.ts); there is no pool to measure.
      continue;
    }
  }
  return found;
}

export function liveMigrations(nb: ControllerNbClient): number {
  let shared = 0;
  for (const row of nb.cache.table(NbTable.Logical_Switch_Port).values()) if (hasTarget(row.external_ids)) shared++;
  return shared;
}
