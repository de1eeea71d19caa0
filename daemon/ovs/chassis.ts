/**
 * This node's OVN chassis name: the system-id ovn-controller registers the chassis under, from
 * the local Open_vSwitch row's external_ids (which the daemon monitors). A live migration's
 * `requested-chassis` names the chassis of both nodes.
 */
import { OvsTable } from '../ovsdb/models/vswitch.ts';
import type { OvsClient } from './bridge.ts';

export function localChassis(ovs: OvsClient): string | undefined {
  for (const row of ovs.cache.table(OvsTable.Open_vSwitch).values()) {
    const id = row.external_ids.get('system-id');
    if (id !== undefined && id !== '') return id;
  }
  return undefined;
}
