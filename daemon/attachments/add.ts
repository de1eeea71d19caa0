/**
 * CNI ADD: logical switch port (address from the NB, port security), and at the same time the
 * veth and its port on br-int with iface-id; then the pod end configured in the pod netns while
 * ovn-controller binds the port; then wait for ovn-installed. Every step that creates something
 * arms its undo; a failure anywhere takes back exactly what this request created. A repeated ADD
 * finds each piece already there and returns the same result.
 */
import { CniError, ErrorCode, shown } from '../cni/errors.ts';
import type { NetConf, RequestedAddress } from '../cni/config.ts';
import type { NetnsPath, ContainerId, IfName } from '../cni/env.ts';
import type { Result } from '../cni/result.ts';
import { hostVethName, logicalPortName } from '../cni/names.ts';
import { UndoStack } from '../lib/undo.ts';
import { crashPoint } from '../lib/crash-point.ts';
import type { Logger } from '../lib/log.ts';
import { createVethPair, type VethPair } from '../netlink/veth.ts';
import { configurePodInterface, inspectPodInterface } from '../netlink/pod.ts';
import { deleteLink, findLink } from '../netlink/link.ts';
import { isErrno } from '../netlink/errors.ts';
import type { NetnsHandle } from '../netlink/netns.ts';
import { findSwitch, switchGateway, switchOfPort, AmbiguousSwitchError, type LogicalSwitch } from '../ovn/switches.ts';
import { findAttachmentPort, findPort, portEntry, type LogicalPort } from '../ovn/ports.ts';
import { AddressInUseError, ClaimMismatchError, createLogicalPort, deleteLogicalPort, PoolExhaustedError } from '../ipam/allocate.ts';
import { ensureManagedSwitch, networkDefinition, NetworkDefinitionError } from '../ovn/managed.ts';
import { ensureDhcpOptions } from '../ovn/dhcp.ts';
import { subnetContains, type Subnet } from '../lib/ip.ts';
import { parseIpamSettings, subnetOf, IpamConfigError, type IpamSettings } from '../ipam/pool.ts';
import { parsePortAddresses } from '../ovn/entries.ts';
import { ownerExternalIds, OwnerKeys, type AttachmentIdentity } from '../ovn/ids.ts';
import { localChassis } from '../ovs/chassis.ts';
import { ChassisUnknownError, MigrationInFlightError, SameChassisError } from '../ipam/migration.ts';
import { addPortOps, deletePortOps as deleteBridgePortOps, findBridge, findBridgePort, findInterface, type Bridge } from '../ovs/bridge.ts';
import { waitOvnInstalled } from '../ovs/binding.ts';
import { CLEANUP_TIMEOUT_MS, openPodNetns, ensureConnected, type Attacher } from './context.ts';
import { podAddressRequest } from '../k8s/requests.ts';
import { checkNetworkAccess } from '../k8s/networks.ts';
import { ClaimLookupError, type ClaimInfo } from '../k8s/ipamclaims.ts';

export interface AddRequest {
  containerId: ContainerId;
  ifName: IfName;
  netns: NetnsPath;
  args: Record<string, string>;
  conf: NetConf;
  /** performance.now() when the request arrived: waits for a lost database count from there. */
  arrivedAt: number;
}

function identity(ctx: Attacher, req: AddRequest): AttachmentIdentity {
  const pod: NonNullable<AttachmentIdentity['pod']> = {};
  const { K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name, K8S_POD_UID: uid } = req.args;
  if (namespace !== undefined) pod.namespace = namespace;
  if (name !== undefined) pod.name = name;
  if (uid !== undefined) pod.uid = uid;
  const chassis = localChassis(ctx.ovs);
  return { containerId: req.containerId, ifName: req.ifName, netns: req.netns, node: ctx.node, bootId: ctx.bootId, network: req.conf.name, pod, ...(chassis === undefined ? {} : { chassis }) };
}

/** The switch to attach to: an existing one by name, or the managed network's (made on first use). */
async function lookupSwitch(ctx: Attacher, conf: NetConf, signal: AbortSignal): Promise<{ sw: LogicalSwitch; settings: IpamSettings }> {
  let sw: LogicalSwitch | undefined;
  // The switch and all its ports are in the daemon's view from here on (NbScope).
  await ctx.scope.serve(conf.logicalSwitch, signal);
  try {
    sw = conf.managed === undefined ? findSwitch(ctx.nb, conf.logicalSwitch) : await ensureManagedSwitch(ctx.nb, conf.logicalSwitch, conf.name, conf.managed, signal);
  } catch (err) {
    if (err instanceof AmbiguousSwitchError) throw new CniError(ErrorCode.InvalidConfig, `logicalSwitch: ${err.message}`);
    if (err instanceof NetworkDefinitionError) throw new CniError(ErrorCode.InvalidConfig, `${err.field}: ${err.message}`, err.details);
    throw err;
  }
  if (sw === undefined) {
    // Not in view because the NB went away while the switch was being served: worth a retry,
    // not a configuration error.
    if (!ctx.nb.connected) throw new CniError(ErrorCode.TryAgainLater, 'OVN Northbound database is not reachable', `logical switch ${shown(conf.logicalSwitch)} could not be looked up`);
    throw new CniError(ErrorCode.InvalidConfig, `logicalSwitch: logical switch ${shown(conf.logicalSwitch)} does not exist in the OVN Northbound database`);
  }
  try {
    return { sw, settings: parseIpamSettings(sw.otherConfig, sw.externalIds) };
  } catch (err) {
    if (err instanceof IpamConfigError) throw new CniError(ErrorCode.InvalidConfig, `logicalSwitch: ${conf.logicalSwitch}: ${err.message}`);
    throw err;
  }
}

/** The static addresses asked for, and the field that asked for each kind (named in errors). */
interface StaticRequest {
  ips: RequestedAddress[] | undefined;
  mac: string | undefined;
  ipsField: string;
  macField: string;
  /** The IPAMClaim named by the pod's network-selection element, and where it was named. */
  ipamClaim: { name: string; field: string } | undefined;
}

/**
 * runtimeConfig.ips/mac; with Kubernetes on, what the config lacks comes from the pod's
 * network-selection element for this network (its annotation), through the same path.
 */
async function staticRequest(ctx: Attacher, req: AddRequest, signal: AbortSignal): Promise<StaticRequest> {
  const { conf } = req;
  const fromConfig = { ips: conf.staticIps, mac: conf.staticMac, ipsField: 'runtimeConfig.ips', macField: 'runtimeConfig.mac', ipamClaim: undefined };
  if (ctx.pods === undefined) return fromConfig;
  const pod = await podAddressRequest(ctx.pods, req.args, conf.name, req.ifName, signal);
  if (pod === undefined) return fromConfig;
  const ipsFromPod = conf.staticIps === undefined && pod.ips !== undefined;
  const macFromPod = conf.staticMac === undefined && pod.mac !== undefined;
  return {
    ips: ipsFromPod ? pod.ips : conf.staticIps,
    mac: macFromPod ? pod.mac : conf.staticMac,
    ipsField: ipsFromPod ? `${pod.field} ips` : fromConfig.ipsField,
    macField: macFromPod ? `${pod.field} mac` : fromConfig.macField,
    ipamClaim: pod.ipamClaim === undefined ? undefined : { name: pod.ipamClaim, field: `${pod.field} ipam-claim-reference` },
  };
}

/**
 * The IPAMClaim the addresses belong to: the one the pod's element names, when the network
 * allows persistent IPs (otherwise the reference is ignored, and nothing persists). It must
 * exist in the pod's namespace and be for this network.
 */
async function resolveClaim(ctx: Attacher, req: AddRequest, wanted: StaticRequest, log: Logger, signal: AbortSignal): Promise<ClaimInfo | undefined> {
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
    if (err instanceof ClaimLookupError) throw new CniError(ErrorCode.TryAgainLater, `${ref.field}: the Kubernetes API server is not reachable`, err.message, { cause: err });
    throw err;
  }
  if (claim === undefined) throw new CniError(ErrorCode.InvalidConfig, `${ref.field}: IPAMClaim ${namespace}/${ref.name} does not exist`);
  if (claim.network !== req.conf.name) {
    throw new CniError(ErrorCode.InvalidConfig, `${ref.field}: IPAMClaim ${namespace}/${ref.name} is for network ${shown(claim.network ?? '')}, not ${shown(req.conf.name)}`);
  }
  return claim;
}

/**
 * The static addresses, checked against the switch: inside its subnet when it has one (code 7
 * otherwise); a switch without a subnet leaves addressing to the user.
 */
function staticAddresses(wanted: StaticRequest, settings: IpamSettings): string[] {
  return (wanted.ips ?? []).map(({ address }, i) => {
    if (settings.subnets.length > 0 && subnetOf(settings, address) === undefined) {
      throw new CniError(ErrorCode.InvalidConfig, `${wanted.ipsField}[${i}]: ${shown(address)} is outside the network's subnets`, settings.subnets.map((s) => s.cidr).join(', '));
    }
    return address;
  });
}

/**
 * A managed network's static addresses, checked against its definition before its switch may be
 * created (a refused ADD leaves no switch behind). Existing switches are checked by
 * staticAddresses against their own settings.
 */
function checkManagedStatic(conf: NetConf, wanted: StaticRequest): void {
  if (conf.managed === undefined || wanted.ips === undefined) return;
  let subnets: Subnet[];
  try {
    ({ subnets } = networkDefinition(conf.managed));
  } catch (err) {
    if (err instanceof NetworkDefinitionError) throw new CniError(ErrorCode.InvalidConfig, `${err.field}: ${err.message}`, err.details);
    throw err;
  }
  wanted.ips.forEach(({ address }, i) => {
    if (!subnets.some((s) => subnetContains(s, address))) {
      throw new CniError(ErrorCode.InvalidConfig, `${wanted.ipsField}[${i}]: ${shown(address)} is outside the network's subnets`, subnets.map((s) => s.cidr).join(', '));
    }
  });
}

/** An address's prefix length: its subnet's, else the one asked for with it, else a host route. */
function prefixLength(ip: string, settings: IpamSettings, wanted: StaticRequest): number {
  const subnet = subnetOf(settings, ip);
  if (subnet !== undefined) return subnet.prefixLength;
  return wanted.ips?.find((s) => s.address === ip)?.prefixLength ?? (ip.includes(':') ? 128 : 32);
}

function requireBridge(ctx: Attacher): Bridge {
  const bridge = findBridge(ctx.ovs, ctx.bridge);
  if (bridge === undefined) throw new CniError(ErrorCode.TryAgainLater, `OVS bridge ${ctx.bridge} does not exist yet`);
  return bridge;
}

/**
 * The port this attachment already has (repeated ADD: its own, or the IPAMClaim's port it joined
 * as a live migration's target), checked to be on the right switch.
 */
function existingPort(ctx: Attacher, req: AddRequest, lspName: string, sw: LogicalSwitch): LogicalPort | undefined {
  const found = findAttachmentPort(ctx.nb, req.containerId, req.ifName);
  if (found === undefined) {
    if (findPort(ctx.nb, lspName) !== undefined) throw new CniError(ErrorCode.AttachFailed, `logical switch port ${lspName} exists and belongs to someone else`);
    return undefined;
  }
  const { port } = found;
  const on = switchOfPort(ctx.nb, port.uuid);
  if (on?.uuid !== sw.uuid) {
    throw new CniError(ErrorCode.InvalidConfig, `logicalSwitch: this attachment already exists on logical switch ${shown(on?.name ?? '?')}`);
  }
  return port;
}

/**
 * Writes the claim's addresses and owner pod to its status. The attachment is already made and
 * the addresses are safe in the NB, so a failure here is logged, not returned: the next ADD for
 * the claim writes it again.
 */
async function reportClaimStatus(ctx: Attacher, claim: ClaimInfo, ips: string[], req: AddRequest, log: Logger, signal: AbortSignal): Promise<void> {
  const ownerPod = req.args['K8S_POD_NAME'] ?? '';
  try {
    await ctx.claims?.reportStatus(claim, { ips, ownerPod }, signal);
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
    await ctx.ovs.transact(deleteBridgePortOps(side.bridge, existing.uuid), signal);
  }
  const results = await ctx.ovs.transact(addPortOps(side.bridge, side.vethName, side.lspName, side.owner), signal);
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
    pair = await createVethPair({ hostName: side.vethName, podName: side.podName, podNetns: side.netns, mtu: side.mtu, signal });
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return undefined;
    throw err;
  }
  undo.push('veth', () => deleteLink(side.vethName, AbortSignal.timeout(CLEANUP_TIMEOUT_MS)));
  crashPoint('veth');
  await ensureBridgePort(ctx, side, undo, signal);
  return pair;
}

export async function addAttachment(ctx: Attacher, req: AddRequest, log: Logger, signal: AbortSignal): Promise<Result> {
  // Before anything is created (a managed switch included): may this pod's namespace attach?
  if (ctx.networks !== undefined) await checkNetworkAccess(ctx.networks, req.args, req.conf.name, signal);
  await ensureConnected(ctx, ctx.nb, signal, req.arrivedAt);
  await ensureConnected(ctx, ctx.ovs, signal, req.arrivedAt);
  const { conf } = req;
  const bridge = requireBridge(ctx);
  // Everything that can refuse the request comes before lookupSwitch, which may create the
  // switch of a managed network: a refused ADD leaves nothing behind.
  const wanted = await staticRequest(ctx, req, signal);
  checkManagedStatic(conf, wanted);
  const claim = await resolveClaim(ctx, req, wanted, log, signal);
  const lspName = logicalPortName(req.containerId, req.ifName);
  const vethName = hostVethName(req.containerId, req.ifName);
  const netns = await openPodNetns(req.netns);
  const undo = new UndoStack(log);
  const cleanupSignal = (): AbortSignal => AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  try {
    const { sw, settings } = await lookupSwitch(ctx, conf, signal);
    const owner = ownerExternalIds(identity(ctx, req));
    const mtu = conf.mtu ?? ctx.defaultMtu;
    const side: HostSide = { vethName, lspName, podName: req.ifName, netns, mtu, bridge, owner };

    const subnetGateway = (subnet: Subnet): string | undefined => settings.gateways.find((gw) => subnetOf(settings, gw) === subnet) ?? switchGateway(ctx.nb, sw, subnet);
    const existing = existingPort(ctx, req, lspName, sw);
    const newPort = async (): Promise<LogicalPort> => {
      try {
        // A network with DHCP: its options rows first (shared by its ports, made once).
        const dhcp = conf.dhcp === undefined ? undefined : await ensureDhcpOptions(ctx.nb, sw, settings.subnets, subnetGateway, { dhcp: conf.dhcp, mtu, routes: conf.routes }, signal);
        const created = await createLogicalPort(
          ctx.nb,
          {
            switchName: sw.name,
            settings,
            name: lspName,
            portSecurity: conf.portSecurity,
            externalIds: owner,
            reconnected: (s) => ensureConnected(ctx, ctx.nb, s, req.arrivedAt),
            ...(wanted.ips === undefined ? {} : { staticIps: staticAddresses(wanted, settings) }),
            ...(wanted.mac === undefined ? {} : { staticMac: wanted.mac }),
            ...(claim === undefined ? {} : { ipamClaim: `${claim.namespace}/${claim.name}` }),
            ...(dhcp === undefined ? {} : { dhcp }),
          },
          signal,
        );
        undo.push('logical switch port', () => deleteLogicalPort(ctx.nb, req, cleanupSignal(), created));
        log.debug({ lsp: created.port.name, addresses: created.port.addresses, joined: created.port.name !== lspName }, 'created logical switch port');
        crashPoint('logical-port');
        return created.port;
      } catch (err) {
        if (err instanceof PoolExhaustedError) throw new CniError(ErrorCode.AddressPoolExhausted, err.message);
        if (err instanceof AddressInUseError) {
          const field = err.kind === 'ip' ? wanted.ipsField : wanted.macField;
          throw new CniError(ErrorCode.AddressInUse, `${field}: ${err.address} is already in use`, `used by ${err.owner}`);
        }
        if (err instanceof ClaimMismatchError) throw new CniError(ErrorCode.InvalidConfig, `${err.kind === 'ip' ? wanted.ipsField : wanted.macField}: ${err.message}`);
        if (err instanceof MigrationInFlightError) throw new CniError(ErrorCode.TryAgainLater, `${wanted.ipamClaim?.field ?? 'ipam-claim-reference'}: ${err.message}`, 'a third pod of the claim waits until the migration ends (one of the two pods is deleted)');
        if (err instanceof SameChassisError) throw new CniError(ErrorCode.AttachFailed, `${wanted.ipamClaim?.field ?? 'ipam-claim-reference'}: a live migration within one node is not supported`, err.message);
        if (err instanceof ChassisUnknownError) throw new CniError(ErrorCode.TryAgainLater, "this node's OVN chassis is not known yet", `no external_ids:system-id in the local Open_vSwitch database (${err.message})`);
        throw err;
      }
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
      const [portMade, sideMade] = await Promise.allSettled([existing ?? newPort(), existing === undefined ? makeHostSide(ctx, side, undo, signal) : undefined]);
      if (portMade.status === 'rejected') throw portMade.reason;
      if (sideMade.status === 'rejected') throw sideMade.reason;
      port = portMade.value;
      made = sideMade.value;
    }
    const bound: HostSide = { ...side, lspName: port.name };
    const { mac, ips } = parsePortAddresses(portEntry(port));
    if (mac === undefined) throw new CniError(ErrorCode.AttachFailed, `logical switch port ${lspName} has no MAC address`);
    const prefixOf = (ip: string): number => prefixLength(ip, settings, wanted);
    // With dhcp.guestAddresses the guest behind the pod interface takes them by DHCP instead.
    const onPod = conf.dhcp?.guestAddresses !== true;
    const podInterface = {
      podNetns: netns,
      podName: req.ifName,
      addresses: onPod ? ips.map((address) => ({ address, prefixLength: prefixOf(address) })) : [],
      routes: onPod ? conf.routes.map((r) => (r.gw === undefined ? { destination: r.dst } : { destination: r.dst, gateway: r.gw })) : [],
      disableTxChecksum: bridge.datapathType === 'netdev',
      signal,
    };

    let hostMac: string;
    let podConfigured: Promise<void> = Promise.resolve();
    if (made !== undefined) {
      hostMac = made.hostMac;
      podConfigured = configurePodInterface({ ...podInterface, mac, podIndex: made.podIndex }).then(() => crashPoint('pod-interface'));
    } else {
      const host = await findLink(vethName, signal);
      const pod = await inspectPodInterface(netns, req.ifName, signal);
      const podReady = pod !== undefined && pod.up && pod.mac === mac && ips.every((ip) => pod.addresses.some((a) => a.address === ip));
      if (host !== undefined && podReady) {
        hostMac = host.mac;
      } else {
        if (pod !== undefined && host === undefined) {
          throw new CniError(ErrorCode.AttachFailed, `CNI_IFNAME: interface ${req.ifName} already exists in ${req.netns}`);
        }
        if (host !== undefined) await deleteLink(vethName, signal);
        const pair = await createVethPair({ hostName: vethName, podName: req.ifName, podNetns: netns, podMac: mac, mtu, signal });
        hostMac = pair.hostMac;
        undo.push('veth', () => deleteLink(vethName, cleanupSignal()));
        crashPoint('veth');
        // The pod end is configured while OVS and ovn-controller bind the host end.
        podConfigured = configurePodInterface({ ...podInterface, podIndex: pair.podIndex }).then(() => crashPoint('pod-interface'));
      }
    }

    const binding = (async () => {
      // A fresh attachment's port was made with its veth; a repeated ADD checks the one it finds.
      if (made === undefined) await ensureBridgePort(ctx, bound, undo, signal);
      await waitOvnInstalled(ctx.ovs, vethName, port.name, signal);
    })();
    // Both settle before the undo stack may run, whichever fails first.
    const [configured, installed] = await Promise.allSettled([podConfigured, binding]);
    if (configured.status === 'rejected') throw configured.reason;
    if (installed.status === 'rejected') throw installed.reason;
    undo.commit();
    log.info({ lsp: port.name, veth: vethName, ips, mac, switch: sw.name, [OwnerKeys.node]: ctx.node }, 'attached');

    const gatewayOf = (ip: string): string | undefined => {
      const subnet = subnetOf(settings, ip);
      return subnet === undefined ? undefined : subnetGateway(subnet);
    };
    const addresses = ips.map((ip) => `${ip}/${prefixOf(ip)}`);
    if (claim !== undefined) await reportClaimStatus(ctx, claim, addresses, req, log, signal);
    return {
      interfaces: [
        { name: vethName, mac: hostMac },
        { name: req.ifName, mac, mtu, sandbox: req.netns },
      ],
      ips: ips.map((ip, i) => {
        const address = addresses[i] ?? '';
        const gateway = gatewayOf(ip);
        return gateway === undefined ? { address, interface: 1 } : { address, gateway, interface: 1 };
      }),
      routes: conf.routes.map((r) => ({ ...r })),
      dns: {},
    };
  } finally {
    await undo.unwind();
    await netns.close();
  }
}
