/**
 * CNI ADD in IPAM mode: another plugin (macvlan, ipvlan, bridge, host-device) made the interface
 * and asks ovn-multinet for addresses only. They come from the network's logical switch, chosen
 * by the same settings as the plugin's (an existing switch by name, or a managed network), and
 * are held cluster-wide by the same guard keys as any port's, on a record the node's view and
 * the reconciler find as they find every attachment: a logical switch port named after the
 * attachment, with the owner ids, no `addresses`, no port security and `enabled=false` (it does
 * not change OVN's forwarding on the switch: daemon/ipam/allocate.ts ipamOnlyCreationOps). The
 * netns's identity is recorded for the liveness rule (liveness.ts). Needs neither br-int nor the
 * local Open_vSwitch DB. A repeated ADD finds the record and returns the same result.
 */
import { shown } from '../cni-spec/errors.ts';
import { AttachmentConflictError, InvalidConfigError } from '../errors.ts';
import { fieldOf } from '../netconf/parse.ts';
import type { Result } from '../cni-spec/result.ts';
import { logicalPortName } from '../cni-spec/names.ts';
import { UndoStack } from '../lib/undo.ts';
import { crashPoint } from '../lib/crash-point.ts';
import type { Logger } from '../lib/log.ts';
import { netnsId } from '../netlink/netns.ts';
import { ipamOnlyIps, type LogicalPort } from '../ovn/ports.ts';
import { OwnerKeys, ownerExternalIds } from '../ovn/ids.ts';
import { createLogicalPort, deleteLogicalPort } from '../ipam/allocate.ts';
import { checkNetworkAccess } from '../k8s/networks.ts';
import { CLEANUP_TIMEOUT_MS, ensureConnected, openPodNetns, type Attacher } from './context.ts';
import { podPools, poolError, withPool } from './pools.ts';
import { allocationError, checkManagedStatic, existingPort, identity, lookupSwitch, resultIps, staticAddresses, staticRequest, type NetworkRequest } from './network.ts';

export async function addIpamAttachment(ctx: Attacher, req: NetworkRequest, log: Logger, signal: AbortSignal): Promise<Result> {
  const { conf } = req;
  if (ctx.networks !== undefined) await checkNetworkAccess(ctx.networks, ctx.networkAccess ?? 'strict', req.args, conf, signal);
  await ensureConnected(ctx, ctx.nb, signal, req.arrivedAt);
  // Everything that can refuse the request comes before lookupSwitch, which may create the
  // switch of a managed network: a refused ADD leaves nothing behind.
  const wanted = await staticRequest(ctx, req, signal);
  checkManagedStatic(conf, wanted);
  if (wanted.ipamClaim !== undefined) log.info({ claim: wanted.ipamClaim.name }, 'the pod names an IPAMClaim; IPAM mode does not keep addresses across pods, ignored');
  // The namespace must exist (3 otherwise); which one it is goes on the record.
  const netns = await openPodNetns(req.netns);
  let podNetnsId: string;
  try {
    podNetnsId = netnsId(netns);
  } finally {
    await netns.close();
  }
  const lspName = logicalPortName(req.containerId, req.ifName);
  const undo = new UndoStack(log);
  try {
    const { sw, settings } = await lookupSwitch(ctx, conf, signal, req.arrivedAt);
    if (settings.subnets.length === 0 && wanted.ips === undefined) {
      throw new InvalidConfigError(`${fieldOf(conf, 'logicalSwitch')}: logical switch ${shown(sw.name)} has no subnet to take addresses from`, { details: 'set other_config:subnet on it, or use a managed network with subnets', field: fieldOf(conf, 'logicalSwitch') });
    }
    let port: LogicalPort | undefined = existingPort(ctx, req, lspName, sw);
    if (port !== undefined && ipamOnlyIps(port.externalIds) === undefined) {
      throw new AttachmentConflictError(`CNI_IFNAME: ${req.ifName} is attached by the ovn-multinet plugin itself (logical switch port ${lspName}), not through IPAM`, { field: 'CNI_IFNAME' });
    }
    if (port === undefined) {
      const pools = await podPools(ctx, req, sw, settings, signal);
      const owner = withPool(new Map([...ownerExternalIds(identity(ctx, req)), [OwnerKeys.netnsId, podNetnsId]]), pools);
      let created;
      try {
        created = await createLogicalPort(
          ctx.nb,
          {
            switchName: sw.name,
            settings: pools.allocation,
            name: lspName,
            portSecurity: false,
            externalIds: owner,
            ipamOnly: true,
            reconnected: (s) => ensureConnected(ctx, ctx.nb, s, req.arrivedAt),
            sent: req.sent,
            ...(wanted.ips === undefined ? {} : { staticIps: staticAddresses(wanted, pools.statics) }),
          },
          signal,
        );
      } catch (err) {
        throw allocationError(poolError(err, pools), wanted);
      }
      port = created.port;
      const made = created;
      undo.push('IPAM record', () => deleteLogicalPort(ctx.nb, req, AbortSignal.timeout(CLEANUP_TIMEOUT_MS), made));
      crashPoint('logical-port');
    }
    const ips = ipamOnlyIps(port.externalIds) ?? [];
    signal.throwIfAborted();
    undo.commit();
    log.info({ lsp: lspName, ips, switch: sw.name, [OwnerKeys.node]: ctx.node }, 'addresses given (IPAM)');
    return {
      // An IPAM result: no interfaces, and so no `interface` index on the IPs (the calling
      // plugin sets it to its own interface).
      interfaces: [],
      ips: resultIps(ctx, sw, settings, wanted, ips),
      routes: conf.routes.map((r) => ({ ...r })),
      dns: conf.dns,
    };
  } finally {
    await undo.unwind();
  }
}
