/**
 * What the Network controller reads from the NB: every logical switch (name and ids), for the
 * switches an admin marks to expose (ExposeKeys) and the definitions of managed networks; and,
 * for MultiNetworkPolicies (daemon/policy/), only rows ovn-multinet owns (monitor conditions on
 * the owner mark): its logical switch ports (the pod identity and addresses each records, and its
 * switch's uuid under ScopeKeys.switch), and the Port_Group, Address_Set and ACL rows the leader
 * writes. An admin's ports, port groups, address sets and ACLs never reach the controller, so its
 * memory grows with ovn-multinet's ports and policy rows, not with the NB. A switch's `ports` is
 * not monitored for the same reason: a port's switch is its ScopeKeys.switch key.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { Monitored } from '../ovsdb/model.ts';
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { condition } from '../ovsdb/ops.ts';
import { NbTable, type NbTables } from '../ovsdb/models/nb.ts';
import { OWNER_VALUE, OwnerKeys } from './ids.ts';
import type { NbSelection } from './nb.ts';
import { switchNamed } from './switches.ts';
import { AmbiguousSwitchError } from '../errors.ts';

export const CONTROLLER_NB_MONITOR = {
  Logical_Switch: ['name', 'other_config', 'external_ids'],
  Logical_Switch_Port: ['name', 'addresses', 'external_ids'],
  /** Every router (few): the layer3 networks' routers, whose NamespacedNetworks' deletion removes them. */
  Logical_Router: ['name'],
  Port_Group: ['name', 'ports', 'acls', 'external_ids'],
  Address_Set: ['name', 'addresses', 'external_ids'],
  ACL: ['priority', 'direction', 'match', 'action', 'external_ids'],
} as const;

/** The owner mark as a monitor clause: the rows ovn-multinet made. */
const OWNED = [condition('external_ids', 'includes', new Map([[OwnerKeys.owner, OWNER_VALUE]]))];

/** The controller's selection (nb.ts nbClient): every switch, and only the owned rows of the other tables. */
export const CONTROLLER_NB_SELECTION: NbSelection = {
  conditions: (): MonitorConditions =>
    new Map([
      [NbTable.Logical_Switch_Port, OWNED],
      [NbTable.Port_Group, OWNED],
      [NbTable.Address_Set, OWNED],
      [NbTable.ACL, OWNED],
    ]),
};

/** The controller's NB client. */
export type ControllerNbClient = OvsdbClient<Monitored<NbTables, typeof CONTROLLER_NB_MONITOR>>;

export interface SwitchIds {
  name: string;
  externalIds: ReadonlyMap<string, string>;
}

/** The switch's external_ids, or why there are none. */
export function switchIds(nb: ControllerNbClient, name: string): ReadonlyMap<string, string> | 'missing' | 'ambiguous' {
  try {
    return switchNamed(nb, name)?.external_ids ?? 'missing';
  } catch (err) {
    if (err instanceof AmbiguousSwitchError) return 'ambiguous';
    throw err;
  }
}

/** Every switch whose external_ids has `key`. */
export function switchesWith(nb: ControllerNbClient, key: string): SwitchIds[] {
  const found: SwitchIds[] = [];
  for (const row of nb.cache.table(NbTable.Logical_Switch).values()) {
    const externalIds = row.external_ids;
    if (externalIds.has(key)) found.push({ name: row.name, externalIds });
  }
  return found;
}
