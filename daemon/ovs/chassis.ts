/**
 * This node's OVN chassis name: the system-id ovn-controller registers the chassis under, from
 * the local Open_vSwitch row's external_ids (which the daemon monitors). A live migration's
 * `requested-chassis` names the chassis of both nodes.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { stringMapOf } from '../lib/rows.ts';

export function localChassis(ovs: OvsdbClient): string | undefined {
  for (const row of ovs.cache.table('Open_vSwitch').values()) {
    const id = stringMapOf(row, 'external_ids').get('system-id');
    if (id !== undefined && id !== '') return id;
  }
  return undefined;
}
