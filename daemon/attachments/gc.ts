/**
 * CNI GC: removes this node's attachments of this network that the runtime no longer lists in
 * cni.dev/valid-attachments. Only ports carrying our owner ids for this node and network are
 * considered, so attachments of other nodes, other networks and other owners are never touched.
 */
import type { NetConf } from '../../cni/config.ts';
import type { Logger } from '../lib/log.ts';
import { stringMapOf } from '../lib/rows.ts';
import { OWNER_VALUE, OwnerKeys } from '../ovn/ids.ts';
import { bridgePortsWhere, findBridge, type BridgePort } from '../ovs/bridge.ts';
import { deleteAttachment } from './del.ts';
import { requireConnected, type Attacher } from './context.ts';

export async function garbageCollect(ctx: Attacher, conf: NetConf, log: Logger, signal: AbortSignal): Promise<number> {
  requireConnected(ctx);
  const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerId}/${a.ifName}`));
  const stale: Array<{ containerId: string; ifName: string }> = [];
  for (const row of ctx.nb.cache.table('Logical_Switch_Port').values()) {
    const ids = stringMapOf(row, 'external_ids');
    if (ids.get(OwnerKeys.owner) !== OWNER_VALUE || ids.get(OwnerKeys.node) !== ctx.node || ids.get(OwnerKeys.network) !== conf.name) continue;
    const containerId = ids.get(OwnerKeys.containerId);
    const ifName = ids.get(OwnerKeys.ifName);
    if (containerId === undefined || ifName === undefined || valid.has(`${containerId}/${ifName}`)) continue;
    stale.push({ containerId, ifName });
  }
  for (const port of bridgePortsOf(ctx)) {
    const ids = port.externalIds;
    if (ids.get(OwnerKeys.owner) !== OWNER_VALUE || ids.get(OwnerKeys.network) !== conf.name) continue;
    const containerId = ids.get(OwnerKeys.containerId);
    const ifName = ids.get(OwnerKeys.ifName);
    if (containerId === undefined || ifName === undefined || valid.has(`${containerId}/${ifName}`)) continue;
    if (!stale.some((s) => s.containerId === containerId && s.ifName === ifName)) stale.push({ containerId, ifName });
  }
  for (const key of stale) await deleteAttachment(ctx, key, log.child({ containerId: key.containerId, ifname: key.ifName }), signal);
  if (stale.length > 0) log.info({ network: conf.name, removed: stale.length }, 'garbage-collected attachments');
  return stale.length;
}

function bridgePortsOf(ctx: Attacher): BridgePort[] {
  const bridge = findBridge(ctx.ovs, ctx.bridge);
  return bridge === undefined ? [] : bridgePortsWhere(ctx.ovs, bridge, () => true);
}
