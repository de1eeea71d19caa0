/**
 * CNI DEL: removes the OVS port, the veth (its pod end goes with it) and the logical switch port
 * (which releases the address; an IPAMClaim's port shared during a live migration is left to the
 * other pod instead, daemon/ipam/migration.ts). Each piece is found by the names derived from the attachment's
 * identity; whatever is already gone counts as done. DEL never blocks pod deletion: a database
 * that is unreachable leaves its part to the reconciler, which finishes it once the database is
 * back (the host veth is gone by then, which marks the attachment dead).
 *
 * The veth goes last and is returned as a pending promise: the kernel takes ~20 ms to destroy a
 * veth pair, and the runtime need not wait for it (the handler answers once the databases are
 * done and holds the attachment's lock until the veth is gone too).
 */
import { hostVethName, logicalPortName } from '../cni-spec/names.ts';
import type { Logger } from '../lib/log.ts';
import { deleteLink } from '../netlink/link.ts';
import { OvsdbNotConnectedError } from '../errors.ts';
import { findAttachmentPort } from '../ovn/ports.ts';
import { deleteLogicalPort } from '../ipam/allocate.ts';
import { switchOfPort } from '../ovn/switches.ts';
import { deletePortOps as deleteBridgePortOps, findBridge, findBridgePort } from '../ovs/bridge.ts';
import type { Attacher } from './context.ts';
import { lostPortRecord, releaseLostPort } from './restore.ts';

export interface AttachmentKey {
  containerId: string;
  ifName: string;
  /**
   * An IPAM-only attachment (another plugin's interface): only its NB record is ovn-multinet's,
   * there is no OVS port or veth to look for (and no need for the local Open_vSwitch DB).
   */
  ipamOnly?: boolean;
}

export type PartOutcome = 'removed' | 'absent' | 'deferred';

export interface DeleteOutcome {
  ovsPort: PartOutcome;
  logicalPort: PartOutcome;
  /** Settles once the veth is gone. */
  veth: Promise<PartOutcome>;
}

/** Runs one database part; a lost connection defers it instead of failing the DEL. */
async function databasePart(connected: boolean, part: () => Promise<PartOutcome>): Promise<PartOutcome> {
  if (!connected) return 'deferred';
  try {
    return await part();
  } catch (err) {
    if (err instanceof OvsdbNotConnectedError) return 'deferred';
    throw err;
  }
}

export async function deleteAttachment(ctx: Attacher, key: AttachmentKey, log: Logger, signal: AbortSignal): Promise<DeleteOutcome> {
  const vethName = hostVethName(key.containerId, key.ifName);

  const nbOnly = key.ipamOnly === true;
  // A lost port's record (restore.ts), read before the br-int port goes.
  const lost = nbOnly ? undefined : lostPortRecord(ctx, key.containerId, key.ifName);
  // The two databases are independent: both parts run at once.
  const [ovsPort, logicalPort] = await Promise.all([
    nbOnly ? Promise.resolve<PartOutcome>('absent') : databasePart(ctx.ovs.connected, async () => {
      const bridge = findBridge(ctx.ovs, ctx.bridge);
      const port = findBridgePort(ctx.ovs, vethName);
      if (bridge === undefined || port === undefined) return 'absent';
      await ctx.ovs.transact(deleteBridgePortOps(bridge, port.uuid), signal);
      return 'removed';
    }),
    databasePart(ctx.nb.connected, async () => {
      // Its own port, or the IPAMClaim's port it shares as a live migration's source or target.
      const found = findAttachmentPort(ctx.nb, key.containerId, key.ifName);
      const sw = found === undefined ? undefined : switchOfPort(ctx.nb, found.port.uuid);
      if (found === undefined || sw === undefined) {
        const freed = lost !== undefined && (await releaseLostPort(ctx, lost, logicalPortName(key.containerId, key.ifName), signal));
        return freed ? 'removed' : 'absent';
      }
      await deleteLogicalPort(ctx.nb, key, signal);
      return 'removed';
    }),
  ]);

  const deferred = ovsPort === 'deferred' || logicalPort === 'deferred';
  const veth = (nbOnly ? Promise.resolve(false) : deleteLink(vethName, signal)).then((existed): PartOutcome => {
    const outcome = { ovsPort, logicalPort, veth: existed ? 'removed' : 'absent' };
    log[deferred ? 'warn' : 'info']({ vethName, ...outcome }, deferred ? 'detached; the rest is left to the reconciler' : 'detached');
    return outcome.veth as PartOutcome;
  });
  return { ovsPort, logicalPort, veth };
}
