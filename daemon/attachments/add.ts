/**
 * CNI ADD: logical switch port (address from the NB, port security), and at the same time the
 * veth and its port on br-int with iface-id; then the pod end configured in the pod netns while
 * ovn-controller binds the port; then wait for ovn-installed. Every step that creates something
 * arms its undo; a failure anywhere takes back exactly what this request created. A repeated ADD
 * finds each piece already there and returns the same result.
 */
import { shown } from '../cni-spec/errors.ts';
import type { Result } from '../cni-spec/result.ts';
import { hostVethName, logicalPortName } from '../cni-spec/names.ts';
import { UndoStack } from '../lib/undo.ts';
import { crashPoint } from '../lib/crash-point.ts';
import type { Logger } from '../lib/log.ts';
import { createVethPair, type VethPair } from '../netlink/veth.ts';
import { configurePodInterface, inspectPodInterface } from '../netlink/pod.ts';
import { deleteLink, findLink } from '../netlink/link.ts';
import { ApiServerUnreachableError, AttachmentConflictError, BridgeMissingError, ClaimLookupError, InvalidConfigError, isErrno, PortWithoutMacError } from '../errors.ts';
import type { NetnsHandle } from '../netlink/netns.ts';
import { holdsRecord, ipamOnlyIps, portEntry, portRecord, RECORD_KEYS, type LogicalPort } from '../ovn/ports.ts';
import { createLogicalPort, deleteLogicalPort } from '../ipam/allocate.ts';
import { ensureDhcpOptions } from '../ovn/dhcp.ts';
import { presentQosRows, qosOps } from '../ovn/qos.ts';
import { advertiseDhcpv6 } from '../ovn/router-advertisements.ts';
import type { Subnet } from '../lib/ip.ts';
import { parsePortAddresses } from '../ovn/entries.ts';
import { ownerExternalIds, OwnerKeys } from '../ovn/ids.ts';
import { addPortOps, deletePortOps as deleteBridgePortOps, findBridge, findBridgePort, findInterface, recordInterfaceOps, type Bridge } from '../ovs/bridge.ts';
import { waitOvnInstalled } from '../ovs/binding.ts';
import { CLEANUP_TIMEOUT_MS, openPodNetns, ensureConnected, type Attacher } from './context.ts';
import { checkNetworkAccess } from '../k8s/networks.ts';
import { type ClaimInfo, type ClaimStatus } from '../k8s/ipamclaims.ts';
import { checkRouteRequest, podRoutes } from './pod-routes.ts';
import { podPools, poolError, withPool } from './pools.ts';
import { allocationError, checkManagedRoutes, checkManagedStatic, claimStatusRequest, existingPort, identity, lookupSwitch, networkRoutes, prefixLength, resultIps, staticAddresses, staticRequest, subnetGateway as gatewayOfSubnet, type NetworkRequest, type StaticRequest } from './network.ts';

/**
 * The IPAMClaim the addresses belong to: the one the pod's element names, when the network
 * allows persistent IPs (otherwise the reference is ignored, and nothing persists). It must
 * exist in the pod's namespace and be for this network.
 */
async function resolveClaim(ctx: Attacher, req: NetworkRequest, wanted: StaticRequest, log: Logger, signal: AbortSignal): Promise<ClaimInfo | undefined> {
  const ref = wanted.ipamClaim;
  const namespace = req.args['K8S_POD_NAMESPACE'];
  if (ref === undefined || namespace === undefined || ctx.claims === undefined) return undefined;
  if (!req.conf.allowPersistentIPs) {
    log.info({ claim: ref.name }, 'the pod names an IPAMClaim but the network does not set allowPersistentIPs; ignored');
    return undefined;
  }
  let claim: ClaimInfo | undefined;
  try {
    claim = await ctx.claims.claim(namespace, ref.name, signal);
  } catch (err) {
    if (err instanceof ClaimLookupError) throw new ApiServerUnreachableError(`${ref.field}: the Kubernetes API server is not reachable`, { details: err.message, field: ref.field, cause: err });
    throw err;
  }
  if (claim === undefined) throw new InvalidConfigError(`${ref.field}: IPAMClaim ${namespace}/${ref.name} does not exist`, { field: ref.field });
  if (claim.network !== req.conf.name) {
    throw new InvalidConfigError(`${ref.field}: IPAMClaim ${namespace}/${ref.name} is for network ${shown(claim.network ?? '')}, not ${shown(req.conf.name)}`, { field: ref.field });
  }
  return claim;
}

/**
 * The time one ADD spends in one phase (metrics/hooks.ts ADD_PHASES), summed over its pieces:
 * the kernel's veth pair and pod interface, say. Phases overlap each other.
 */
class PhaseTime {
  ms = 0;
  async time<T>(work: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work;
    } finally {
      this.ms += performance.now() - started;
    }
  }
}

function requireBridge(ctx: Attacher): Bridge {
  const bridge = findBridge(ctx.ovs, ctx.bridge);
  if (bridge === undefined) throw new BridgeMissingError(`OVS bridge ${ctx.bridge} does not exist yet`);
  return bridge;
}

/**
 * Writes the claim's addresses and owner pod to its status, and what its reservation is to its
 * annotation (RESERVATION_ANNOTATION). The attachment is already made and
 * the addresses are safe in the NB, so a failure here is logged, not returned: the next ADD for
 * the claim writes it again.
 */
async function reportClaimStatus(ctx: Attacher, claim: ClaimInfo, reservation: Omit<ClaimStatus, 'ownerPod'>, req: NetworkRequest, log: Logger, signal: AbortSignal): Promise<void> {
  const ownerPod = req.args['K8S_POD_NAME'] ?? '';
  try {
    await ctx.claims?.reportStatus(claim, { ...reservation, ownerPod }, signal);
  } catch (err) {
    log.warn({ err, claim: `${claim.namespace}/${claim.name}` }, 'could not write the IPAMClaim status');
  }
}

/** What a fresh attachment's host side needs: known before any address is. */
interface HostSide {
  vethName: string;
  lspName: string;
  podName: string;
  netns: NetnsHandle;
  mtu: number;
  bridge: Bridge;
  owner: ReadonlyMap<string, string>;
  /** NetworkRequest.sent. */
  sent: () => void;
  /** The ADD's kernel work. */
  kernel: PhaseTime;
}

/**
 * The br-int port with iface-id = the logical port. One of that name from an earlier try is kept
 * when it points at this logical port and replaced otherwise (e.g. left by a DEL whose
 * Open_vSwitch part was deferred); a new one's undo is armed at once.
 */
async function ensureBridgePort(ctx: Attacher, side: HostSide, undo: UndoStack, signal: AbortSignal): Promise<void> {
  const existing = findBridgePort(ctx.ovs, side.vethName);
  if (existing !== undefined) {
    if (findInterface(ctx.ovs, side.vethName)?.externalIds.get('iface-id') === side.lspName) return;
    await ctx.ovs.transact(deleteBridgePortOps(side.bridge, existing.uuid), signal, side.sent);
  }
  const results = await ctx.ovs.transact(addPortOps(side.bridge, side.vethName, side.lspName, side.owner), signal, side.sent);
  const portUuid = results[1]?.uuid;
  if (portUuid !== undefined) undo.push('OVS port', () => ctx.ovs.transact(deleteBridgePortOps(side.bridge, portUuid), AbortSignal.timeout(CLEANUP_TIMEOUT_MS)));
  crashPoint('ovs-port');
}

/**
 * A fresh attachment's veth and br-int port, made while the NB commits its logical switch port:
 * neither needs the address (the pod end stays down and gets its MAC when it is configured), and
 * ovn-controller binds the port as soon as northd has processed it. Resolves to the pair, or to
 * undefined when a link of either name exists already (a retried ADD after a crash,
 * or a taken CNI_IFNAME): the caller then sorts it out once the port is known.
 */
async function makeHostSide(ctx: Attacher, side: HostSide, undo: UndoStack, signal: AbortSignal): Promise<VethPair | undefined> {
  let pair: VethPair;
  try {
    pair = await side.kernel.time(createVethPair({ hostName: side.vethName, podName: side.podName, podNetns: side.netns, mtu: side.mtu, signal }));
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return undefined;
    throw err;
  }
  undo.push('veth', () => deleteLink(side.vethName, AbortSignal.timeout(CLEANUP_TIMEOUT_MS)));
  crashPoint('veth');
  await ensureBridgePort(ctx, side, undo, signal);
  return pair;
}

export async function addAttachment(ctx: Attacher, req: NetworkRequest, log: Logger, signal: AbortSignal): Promise<Result> {
  // Before anything is created (a managed switch included): may this pod reach the switch, with what it asks?
  if (ctx.networks !== undefined) await checkNetworkAccess(ctx.networks, ctx.networkAccess ?? 'strict', req.args, req.conf, signal);
  await ensureConnected(ctx, ctx.nb, signal, req.arrivedAt);
  await ensureConnected(ctx, ctx.ovs, signal, req.arrivedAt);
  const { conf } = req;
  const bridge = requireBridge(ctx);
  // Everything that can refuse the request comes before lookupSwitch, which may create the
  // switch of a managed network: a refused ADD leaves nothing behind.
  const asked = await staticRequest(ctx, req, signal);
  checkManagedStatic(conf, asked);
  checkManagedRoutes(conf, req.ifName, asked.routes);
  const claim = await resolveClaim(ctx, req, asked, log, signal);
  const lspName = logicalPortName(req.containerId, req.ifName);
  const vethName = hostVethName(req.containerId, req.ifName);
  const netns = await openPodNetns(req.netns);
  const undo = new UndoStack(log);
  const cleanupSignal = (): AbortSignal => AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  try {
    const { sw, settings } = await lookupSwitch(ctx, conf, signal, req.arrivedAt);
    const configRoutes = networkRoutes(ctx, conf, sw, settings);
    const wanted = claimStatusRequest(asked, claim, sw, settings);
    if (wanted !== asked) log.info({ claim: `${claim?.namespace ?? ''}/${claim?.name ?? ''}`, ips: wanted.ips?.map((ip) => ip.address) }, 'the IPAMClaim has no reservation on the switch: asking for the addresses of its status');
    const owner = ownerExternalIds(identity(ctx, req));
    const mtu = conf.mtu ?? ctx.defaultMtu;
    // The phases of this ADD, recorded once it has succeeded (what a repeated ADD finds made costs nothing).
    const kernel = new PhaseTime();
    const nbTransaction = new PhaseTime();
    const ovnInstalled = new PhaseTime();
    const side: HostSide = { vethName, lspName, podName: req.ifName, netns, mtu, bridge, owner, sent: req.sent, kernel };

    const subnetGateway = (subnet: Subnet): string | undefined => gatewayOfSubnet(ctx, sw, settings, subnet);
    checkRouteRequest(wanted.routes, { name: conf.name, ifName: req.ifName, subnets: settings.subnets, gatewayOf: subnetGateway }, configRoutes);
    const routes = podRoutes(configRoutes, wanted.routes);
    const existing = existingPort(ctx, req, lspName, sw);
    if (existing !== undefined && ipamOnlyIps(existing.externalIds) !== undefined) {
      throw new AttachmentConflictError(`CNI_IFNAME: ${req.ifName} already has addresses from ovn-multinet as another plugin's IPAM (logical switch port ${lspName})`, { field: 'CNI_IFNAME' });
    }
    const newPort = async (): Promise<LogicalPort> => {
      // The IPPool that serves the pod: only a new port takes addresses (a repeated ADD has its own).
      const pools = await podPools(ctx, req, sw, settings, signal);
      try {
        // A network with DHCP: its options rows first (shared by its ports, made once).
        const dhcp = conf.dhcp === undefined ? undefined : await ensureDhcpOptions(ctx.nb, sw, settings.subnets, subnetGateway, { dhcp: conf.dhcp, mtu, routes: conf.routes }, signal);
        if (conf.dhcp?.routerAdvertisements === true) {
          // Read from the NB, not the view: a router an admin has just connected counts.
          const advertising = await advertiseDhcpv6(ctx.nb, sw.uuid, settings.subnets, signal);
          if (advertising.length > 0) log.info({ routerPorts: advertising }, 'router ports now advertise DHCPv6 (ipv6_ra_configs)');
        }
        const allocating = performance.now();
        const created = await createLogicalPort(
          ctx.nb,
          {
            switchName: sw.name,
            settings: pools.allocation,
            name: lspName,
            portSecurity: conf.portSecurity,
            externalIds: withPool(owner, pools),
            reconnected: (s) => ensureConnected(ctx, ctx.nb, s, req.arrivedAt),
            sent: req.sent,
            retried: (reason) => ctx.metrics.transactionRetried(reason),
            ...(wanted.ips === undefined ? {} : { staticIps: staticAddresses(wanted, pools.statics) }),
            ...(wanted.mac === undefined ? {} : { staticMac: wanted.mac }),
            ...(claim === undefined ? {} : { ipamClaim: `${claim.namespace}/${claim.name}` }),
            ...(dhcp === undefined ? {} : { dhcp }),
            ...(conf.bandwidth === undefined ? {} : { bandwidth: conf.bandwidth }),
          },
          signal,
        );
        undo.push('logical switch port', () => deleteLogicalPort(ctx.nb, req, cleanupSignal(), created));
        nbTransaction.ms += created.nbMs;
        // allocateMs: the address choice and the NB transaction(s), retries included; nbMs: the
        // transactions' round trips alone.
        const tenths = (ms: number): number => Math.round(ms * 10) / 10;
        log.debug({ lsp: created.port.name, addresses: created.port.addresses, joined: created.port.name !== lspName, allocateMs: tenths(performance.now() - allocating), nbMs: tenths(created.nbMs) }, 'created logical switch port');
        crashPoint('logical-port');
        return created.port;
      } catch (err) {
        throw allocationError(poolError(err, pools), wanted);
      }
    };
    // A repeated ADD makes the port's bandwidth limits what this config asks (a changed limit
    // updates its QoS rows, a removed one deletes them). A port it shares as a live migration's
    // target keeps its owner's.
    const keptPort = async (found: LogicalPort): Promise<LogicalPort> => {
      if (found.name !== lspName) return found;
      const ops = qosOps(sw.uuid, found.name, conf.bandwidth, presentQosRows(ctx.nb, sw.uuid, found.name));
      if (ops.length > 0) await nbTransaction.time(ctx.nb.transact(ops, signal, req.sent));
      return found;
    };
    // A new attachment makes its host side while the NB commits; a repeated ADD finds its port
    // and checks each piece in turn. Both settle before the undo stack may run. A new pod of an
    // IPAMClaim may join the claim's port (a live migration's target): the iface-id is that
    // port's name, known once the NB has answered, so its host side comes after.
    let port: LogicalPort;
    let made: VethPair | undefined;
    if (claim !== undefined && existing === undefined) {
      port = await newPort();
      made = await makeHostSide(ctx, { ...side, lspName: port.name }, undo, signal);
    } else {
      const [portMade, sideMade] = await Promise.allSettled([existing === undefined ? newPort() : keptPort(existing), existing === undefined ? makeHostSide(ctx, side, undo, signal) : undefined]);
      if (portMade.status === 'rejected') throw portMade.reason;
      if (sideMade.status === 'rejected') throw sideMade.reason;
      port = portMade.value;
      made = sideMade.value;
    }
    const bound: HostSide = { ...side, lspName: port.name };
    const { mac, ips } = parsePortAddresses(portEntry(port));
    if (mac === undefined) throw new PortWithoutMacError(`logical switch port ${lspName} has no MAC address`);
    const prefixOf = (ip: string): number => prefixLength(ip, settings, wanted);
    // With dhcp.guestAddresses the guest behind the pod interface takes them by DHCP instead.
    const onPod = conf.dhcp?.guestAddresses !== true;
    const podInterface = {
      podNetns: netns,
      podName: req.ifName,
      addresses: onPod ? ips.map((address) => ({ address, prefixLength: prefixOf(address) })) : [],
      routes: onPod ? routes.kernel : [],
      disableTxChecksum: bridge.datapathType === 'netdev',
      signal,
    };

    let hostMac: string;
    let podConfigured: Promise<void> = Promise.resolve();
    if (made !== undefined) {
      hostMac = made.hostMac;
      podConfigured = kernel.time(configurePodInterface({ ...podInterface, mac, podIndex: made.podIndex })).then(() => crashPoint('pod-interface'));
    } else {
      const host = await findLink(vethName, signal);
      const pod = await inspectPodInterface(netns, req.ifName, signal);
      const podReady = pod !== undefined && pod.up && pod.mac === mac && ips.every((ip) => pod.addresses.some((a) => a.address === ip));
      if (host !== undefined && podReady) {
        hostMac = host.mac;
      } else {
        if (pod !== undefined && host === undefined) {
          throw new AttachmentConflictError(`CNI_IFNAME: interface ${req.ifName} already exists in ${req.netns}`, { field: 'CNI_IFNAME' });
        }
        if (host !== undefined) await deleteLink(vethName, signal);
        const pair = await kernel.time(createVethPair({ hostName: vethName, podName: req.ifName, podNetns: netns, podMac: mac, mtu, signal }));
        hostMac = pair.hostMac;
        undo.push('veth', () => deleteLink(vethName, cleanupSignal()));
        crashPoint('veth');
        // The pod end is configured while OVS and ovn-controller bind the host end.
        podConfigured = kernel.time(configurePodInterface({ ...podInterface, podIndex: pair.podIndex })).then(() => crashPoint('pod-interface'));
      }
    }

    const binding = (async () => {
      // A fresh attachment's port was made with its veth; a repeated ADD checks the one it finds.
      if (made === undefined) await ensureBridgePort(ctx, bound, undo, signal);
      // What the node keeps of the port, to make it again should it vanish (restore.ts); a
      // repeated ADD finds it written.
      const record = portRecord(port, sw.name);
      if (!holdsRecord(findInterface(ctx.ovs, vethName)?.externalIds ?? new Map(), record)) {
        await ctx.ovs.transact(recordInterfaceOps(vethName, record, RECORD_KEYS), signal);
      }
      await ovnInstalled.time(waitOvnInstalled(ctx.ovs, vethName, port.name, signal));
    })();
    // Both settle before the undo stack may run, whichever fails first.
    const [configured, installed] = await Promise.allSettled([podConfigured, binding]);
    if (configured.status === 'rejected') throw configured.reason;
    if (installed.status === 'rejected') throw installed.reason;
    undo.commit();
    for (const [phase, time] of [['nb_transaction', nbTransaction], ['kernel', kernel], ['ovn_installed', ovnInstalled]] as const) {
      if (time.ms > 0) ctx.metrics.addPhase(phase, time.ms / 1000);
    }
    log.info({ lsp: port.name, veth: vethName, ips, mac, switch: sw.name, [OwnerKeys.node]: ctx.node }, 'attached');

    const resultIpList = resultIps(ctx, sw, settings, wanted, ips, 1);
    if (claim !== undefined) await reportClaimStatus(ctx, claim, { ips: resultIpList.map((ip) => ip.address), logicalSwitch: sw.name, mac }, req, log, signal);
    return {
      interfaces: [
        { name: vethName, mac: hostMac },
        { name: req.ifName, mac, mtu, sandbox: req.netns },
      ],
      ips: resultIpList,
      routes: routes.result,
      dns: {},
    };
  } finally {
    await undo.unwind();
    await netns.close();
  }
}
