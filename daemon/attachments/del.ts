/**
 * CNI DEL: removes the OVS port, the veth (its pod end goes with it) and the logical switch port
 * (which releases the address). Each piece is found by the names derived from the attachment's
 * identity; whatever is already gone counts as done, so DEL always succeeds when nothing is left.
 */
import type { ContainerId, IfName } from '../../cni/env.ts';
import { hostVethName, logicalPortName } from '../../cni/names.ts';
import type { Logger } from '../lib/log.ts';
import { deleteLink } from '../netlink/link.ts';
import { findPort, deletePortOps } from '../ovn/ports.ts';
import { switchOfPort } from '../ovn/switches.ts';
import { ownedBy } from '../ovn/ids.ts';
import { deletePortOps as deleteBridgePortOps, findBridge, findBridgePort } from '../ovs/bridge.ts';
import { requireConnected, type Attacher } from './context.ts';

export interface AttachmentKey {
  containerId: ContainerId | string;
  ifName: IfName | string;
}

export async function deleteAttachment(ctx: Attacher, key: AttachmentKey, log: Logger, signal: AbortSignal): Promise<void> {
  requireConnected(ctx);
  const lspName = logicalPortName(key.containerId, key.ifName);
  const vethName = hostVethName(key.containerId, key.ifName);

  const bridge = findBridge(ctx.ovs, ctx.bridge);
  const ovsPort = findBridgePort(ctx.ovs, vethName);
  if (bridge !== undefined && ovsPort !== undefined) {
    await ctx.ovs.transact(deleteBridgePortOps(bridge, ovsPort.uuid), signal);
  }

  const removedVeth = await deleteLink(vethName, signal);

  const port = findPort(ctx.nb, lspName);
  let removedPort = false;
  if (port !== undefined && ownedBy(port.externalIds, key.containerId, key.ifName)) {
    const sw = switchOfPort(ctx.nb, port.uuid);
    if (sw !== undefined) {
      await ctx.nb.transact(deletePortOps(sw.uuid, port.uuid), signal);
      removedPort = true;
    }
  }
  log.info({ lsp: lspName, veth: vethName, removedOvsPort: ovsPort !== undefined, removedVeth, removedPort }, 'detached');
}
