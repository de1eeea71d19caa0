/**
 * Waits until ovn-controller has programmed a port: it sets external_ids:ovn-installed="true" on
 * the Interface once the flows are in place (cf. ovn-kubernetes waitForPodInterface). Driven by
 * monitor updates, never by polling; gives up early if the iface-id moves to another port.
 */
import { OvsTable } from '../ovsdb/models/vswitch.ts';
import type { OvsClient } from './bridge.ts';
import { BindingMovedError } from '../errors.ts';

export async function waitOvnInstalled(ovs: OvsClient, ifaceName: string, ifaceId: string, signal: AbortSignal): Promise<void> {
  const row = await ovs.cache.waitForRow(
    OvsTable.Interface,
    (r) => {
      if (r.name !== ifaceName) return false;
      const ids = r.external_ids;
      return ids.get('ovn-installed') === 'true' || ids.get('iface-id') !== ifaceId;
    },
    signal,
  );
  if (row.external_ids.get('iface-id') !== ifaceId) {
    throw new BindingMovedError(`interface ${ifaceName} no longer carries iface-id ${ifaceId}`);
  }
}
