/**
 * The attachments this node owns, as the databases record them: logical switch ports whose owner
 * ids (or migration-target ids, on an IPAMClaim's port shared in a live migration) name this
 * node, and br-int ports carrying our owner ids. Used by the reconciler and by GC.
 */
import { NbTable } from '../ovsdb/models/nb.ts';
import { OWNER_VALUE, OwnerKeys, targetIdsOf } from '../ovn/ids.ts';
import { portsByNode } from '../ovn/indexes.ts';
import { bridgePortsWhere, findBridge } from '../ovs/bridge.ts';
import type { Attacher } from './context.ts';
import type { IpamPod } from './liveness.ts';
import type { PodOwner } from '../k8s/pod-events.ts';

export interface OwnedAttachment {
  containerId: string;
  ifName: string;
  network: string;
  /** The node's boot it was made under, when recorded. */
  bootId?: string;
  /** CNI_NETNS at ADD, when recorded. */
  netns?: string;
  /** An IPAM-only attachment (no veth of ours): where its pod is, for the liveness rule. */
  ipam?: IpamPod;
  /** Set with `ipam`: DEL's removal looks only at the NB record (del.ts). */
  ipamOnly?: boolean;
  /** The pod CNI_ARGS named at ADD, when recorded (what the reconciler's Event is about). */
  pod?: PodOwner;
}

export function attachmentKey(a: { containerId: string; ifName: string }): string {
  return `${a.containerId}/${a.ifName}`;
}

function fromIds(ids: ReadonlyMap<string, string>): OwnedAttachment | undefined {
  if (ids.get(OwnerKeys.owner) !== OWNER_VALUE) return undefined;
  const containerId = ids.get(OwnerKeys.containerId);
  const ifName = ids.get(OwnerKeys.ifName);
  if (containerId === undefined || ifName === undefined) return undefined;
  const bootId = ids.get(OwnerKeys.bootId);
  const netns = ids.get(OwnerKeys.netns);
  const owned: OwnedAttachment = { containerId, ifName, network: ids.get(OwnerKeys.network) ?? '', ...(bootId === undefined ? {} : { bootId }), ...(netns === undefined ? {} : { netns }) };
  const [podNamespace, podName] = [ids.get(OwnerKeys.podNamespace), ids.get(OwnerKeys.podName)];
  if (podNamespace !== undefined && podName !== undefined) owned.pod = { namespace: podNamespace, name: podName, uid: ids.get(OwnerKeys.podUid) ?? '' };
  if (ids.has(OwnerKeys.ipamOnly)) {
    owned.ipam = { netns: ids.get(OwnerKeys.netns) ?? '', netnsId: ids.get(OwnerKeys.netnsId), ifName };
    owned.ipamOnly = true;
  }
  return owned;
}

/** Keyed by attachmentKey; a database that is not connected contributes nothing. */
export function ownedAttachments(ctx: Attacher): Map<string, OwnedAttachment> {
  const out = new Map<string, OwnedAttachment>();
  if (ctx.nb.connected) {
    // The node index: this node's ports, however many other ports the view holds.
    for (const uuid of portsByNode(ctx.nb).get(ctx.node)) {
      const row = ctx.nb.cache.row(NbTable.Logical_Switch_Port, uuid);
      if (row === undefined) continue;
      const ids = row.external_ids;
      // The port's owner, and a live migration's target sharing it: either may be this node's.
      for (const attachment of [ids, targetIdsOf(ids)]) {
        const owned = attachment.get(OwnerKeys.node) === ctx.node ? fromIds(attachment) : undefined;
        if (owned !== undefined) out.set(attachmentKey(owned), owned);
      }
    }
  }
  const bridge = ctx.ovs.connected ? findBridge(ctx.ovs, ctx.bridge) : undefined;
  if (bridge !== undefined) {
    for (const port of bridgePortsWhere(ctx.ovs, bridge, (ids) => ids.get(OwnerKeys.owner) === OWNER_VALUE)) {
      const owned = fromIds(port.externalIds);
      if (owned !== undefined && !out.has(attachmentKey(owned))) out.set(attachmentKey(owned), owned);
    }
  }
  return out;
}
