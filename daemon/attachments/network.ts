/**
 * What ADD does the same whether ovn-multinet is the plugin or another plugin's IPAM: who the
 * attachment is, the switch of the network (an existing one by name, or a managed network's,
 * made on first use), the static addresses asked for and their checks, and the request field
 * each allocation failure names. Errors name the field as the config has it (fieldOf: in IPAM
 * mode `ipam.logicalSwitch`).
 */
import { shown } from '../cni-spec/errors.ts';
import { fieldOf, type NetConf } from '../netconf/parse.ts';
import type { ManagedNetwork } from '../netconf/managed.ts';
import { cniArgsAddresses, type RequestedAddress } from '../netconf/static.ts';
import type { ContainerId, IfName, NetnsPath } from '../cni-spec/env.ts';
import type { ResultIp } from '../cni-spec/result.ts';
import { connectedRouterPorts, findSwitch, switchGateway, switchOfPort, type LogicalSwitch } from '../ovn/switches.ts';
import { ensureLayer3Switch, layer3SwitchName } from '../ovn/layer3.ts';
import type { ConfigRoute } from '../netconf/routes.ts';
import { findAttachmentPort, findPort, type LogicalPort } from '../ovn/ports.ts';
import { ensureManagedSwitch, managedSwitchColumns, networkDefinition } from '../ovn/managed.ts';
import { bitsOf, familyOf, parseIpPrefix, subnetContains, type Subnet } from '../lib/ip.ts';
import { neverHandedOut, parseIpamSettings, subnetOf, type IpamSettings } from '../ipam/pool.ts';
import { convertLegacyKeys } from '../ipam/legacy-keys.ts';
import type { AttachmentIdentity } from '../ovn/ids.ts';
import { localChassis } from '../ovs/chassis.ts';
import { podAddressRequest } from '../k8s/requests.ts';
import type { ClaimInfo } from '../k8s/ipamclaims.ts';
import { reservationOf } from '../ipam/reservations.ts';
import { checkRouteRequest, routeRequest, type RouteRequest } from './pod-routes.ts';
import { acrossReconnects, type Attacher } from './context.ts';
import { AddressInUseError, AddressNotAllowedError, AmbiguousSwitchError, AttachmentConflictError, ClaimMismatchError, InvalidConfigError, IpamConfigError, MigrationInFlightError, NetworkDefinitionError, OvsdbNotConnectedError, SameChassisError } from '../errors.ts';

/** What ADD (either mode) is asked. */
export interface NetworkRequest {
  containerId: ContainerId;
  ifName: IfName;
  netns: NetnsPath;
  args: Record<string, string>;
  conf: NetConf;
  /** performance.now() when the request arrived: waits for a lost database count from there. */
  arrivedAt: number;
  /**
   * Told as each transaction that may write the attachment's records (its logical switch port,
   * its br-int port) goes out: an ADD that fails after that may have left them.
   */
  sent: () => void;
}

/** Who the attachment is, as its NB record says (ownerExternalIds). */
export function identity(ctx: Attacher, req: NetworkRequest): AttachmentIdentity {
  const pod: NonNullable<AttachmentIdentity['pod']> = {};
  const { K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name, K8S_POD_UID: uid } = req.args;
  if (namespace !== undefined) pod.namespace = namespace;
  if (name !== undefined) pod.name = name;
  if (uid !== undefined) pod.uid = uid;
  const chassis = localChassis(ctx.ovs);
  return { containerId: req.containerId, ifName: req.ifName, netns: req.netns, node: ctx.node, bootId: ctx.bootId, network: req.conf.name, pod, ...(chassis === undefined ? {} : { chassis }) };
}

/** The switch a config's pods attach to on `node`: a layer3 network's node switch, else `logicalSwitch`. */
export function servedSwitchName(conf: NetConf, node: string): string {
  return conf.managed?.topology === 'layer3' ? layer3SwitchName(conf.logicalSwitch, node) : conf.logicalSwitch;
}

/** The switch of `conf`: an existing one, a layer3 network's node switch, or a managed network's. */
async function findOrMakeSwitch(ctx: Attacher, conf: NetConf, signal: AbortSignal): Promise<LogicalSwitch | undefined> {
  if (conf.managed === undefined) return findSwitch(ctx.nb, conf.logicalSwitch);
  if (conf.managed.topology !== 'layer3') return ensureManagedSwitch(ctx.nb, conf.logicalSwitch, conf.name, conf.managed, signal);
  const sw = await ensureLayer3Switch(ctx.nb, conf.logicalSwitch, conf.name, conf.managed, ctx.node, signal);
  // A switch just made: its router port (the gateway) comes into view with the next catch-up.
  if (connectedRouterPorts(ctx.nb, sw).length === 0) await ctx.scope.refresh(signal);
  return findSwitch(ctx.nb, sw.name);
}

/** The switch to attach to: an existing one by name, or the managed network's (made on first use). */
export async function lookupSwitch(ctx: Attacher, conf: NetConf, signal: AbortSignal, arrivedAt: number): Promise<{ sw: LogicalSwitch; settings: IpamSettings }> {
  let sw: LogicalSwitch | undefined;
  try {
    // A session lost meanwhile is waited for like any lost connection (--db-wait from the
    // request's arrival); the next session's view holds the served switch (scope.ts prepare).
    sw = await acrossReconnects(ctx, signal, arrivedAt, async () => {
      // The switch and all its ports are in the daemon's view from here on (NbScope).
      await ctx.scope.serve(servedSwitchName(conf, ctx.node), signal);
      const found = await findOrMakeSwitch(ctx, conf, signal);
      // Not in view because the session dropped meanwhile: not a configuration error.
      if (found === undefined && !ctx.nb.connected) throw new OvsdbNotConnectedError(`logical switch ${shown(conf.logicalSwitch)} could not be looked up`);
      // Guard keys and reservations of daemons older than the switch-level keys, before the
      // first allocation here (once per switch; ipam/legacy-keys.ts).
      if (found !== undefined) await convertLegacyKeys(ctx.nb, found, ctx.log, signal);
      return found;
    });
  } catch (err) {
    if (err instanceof AmbiguousSwitchError) throw new InvalidConfigError(`${fieldOf(conf, 'logicalSwitch')}: ${err.message}`, { field: fieldOf(conf, 'logicalSwitch'), cause: err });
    if (err instanceof NetworkDefinitionError) throw definitionError(conf, err);
    throw err;
  }
  if (sw === undefined) throw new InvalidConfigError(`${fieldOf(conf, 'logicalSwitch')}: logical switch ${shown(conf.logicalSwitch)} does not exist in the OVN Northbound database`, { field: fieldOf(conf, 'logicalSwitch') });
  try {
    return { sw, settings: parseIpamSettings(sw.otherConfig, sw.externalIds) };
  } catch (err) {
    if (err instanceof IpamConfigError) throw new InvalidConfigError(`${fieldOf(conf, 'logicalSwitch')}: ${conf.logicalSwitch}: ${err.message}`, { field: fieldOf(conf, 'logicalSwitch'), cause: err });
    throw err;
  }
}

/** The static addresses asked for, and the field that asked for each kind (named in errors). */
export interface StaticRequest {
  ips: RequestedAddress[] | undefined;
  mac: string | undefined;
  ipsField: string;
  macField: string;
  /** The IPAMClaim named by the pod's network-selection element, and where it was named. */
  ipamClaim: { name: string; field: string } | undefined;
  /** The pod's routes: `default-route` and `cni-args.routes` of its element, `args.cni.routes`. */
  routes: RouteRequest;
}

/**
 * runtimeConfig.ips/mac; with Kubernetes on, what the config lacks comes from the pod's
 * network-selection element for this network (its annotation), through the same path.
 */
export async function staticRequest(ctx: Attacher, req: NetworkRequest, signal: AbortSignal): Promise<StaticRequest> {
  const { conf } = req;
  const args = cniArgsAddresses(req.args);
  const pod = ctx.pods === undefined ? undefined : await podAddressRequest(ctx.pods, req.args, conf.name, req.ifName, signal);
  // The first that asks, in this order; each says where its request was made.
  const ips = firstAsking<RequestedAddress[]>([conf.staticIps, 'runtimeConfig.ips'], [pod?.ips, `${pod?.field ?? ''} ips`], [args.ips, 'CNI_ARGS IP']);
  // In IPAM mode the interface is another plugin's, with its own MAC: MAC= is that plugin's.
  const mac = firstAsking<string>([conf.staticMac, 'runtimeConfig.mac'], [pod?.mac, `${pod?.field ?? ''} mac`], [conf.mode === 'ipam' ? undefined : args.mac, 'CNI_ARGS MAC']);
  return {
    ips: ips.value,
    mac: mac.value,
    ipsField: ips.field,
    macField: mac.field,
    ipamClaim: pod?.ipamClaim === undefined ? undefined : { name: pod.ipamClaim, field: `${pod.field} ipam-claim-reference` },
    routes: routeRequest(conf, pod),
  };
}

/** The first request given and where it was made; none: the first's field (runtimeConfig's). */
function firstAsking<T>(...sources: Array<[T | undefined, string]>): { value: T | undefined; field: string } {
  const found = sources.find(([value]) => value !== undefined) ?? sources[0];
  return { value: found?.[0], field: found?.[1] ?? '' };
}

/**
 * An IPAMClaim whose reservation the switch lacks (an NB restored from an older backup lost it)
 * while its status holds addresses on the switch: the pod asks for those, so the claim keeps
 * them (reserved again by the ADD, refused if another holder has them now). Anything else (the
 * reservation there, addresses asked for, a status outside the switch's subnets): `wanted`.
 */
export function claimStatusRequest(wanted: StaticRequest, claim: ClaimInfo | undefined, sw: LogicalSwitch, settings: IpamSettings): StaticRequest {
  if (claim === undefined || wanted.ips !== undefined || claim.ips.length === 0 || reservationOf(sw, `${claim.namespace}/${claim.name}`) !== undefined) return wanted;
  const ips = claim.ips.map((text) => parseIpPrefix(text));
  if (ips.some((ip) => ip === undefined || subnetOf(settings, ip.address) === undefined)) return wanted;
  return { ...wanted, ips: ips.flatMap((ip) => (ip === undefined ? [] : [{ address: ip.address, prefixLength: ip.prefixLength }])), ipsField: `IPAMClaim ${claim.namespace}/${claim.name} status.ips` };
}

/**
 * The static addresses, checked against the switch: inside its subnet when it has one (code 7
 * otherwise; a switch without a subnet leaves addressing to the user), and none the switch never
 * hands out (code 7: excluded, a gateway, a network or broadcast address; pool.ts).
 */
export function staticAddresses(wanted: StaticRequest, settings: IpamSettings): string[] {
  return (wanted.ips ?? []).map(({ address }, i) => {
    if (settings.subnets.length > 0 && subnetOf(settings, address) === undefined) {
      throw outsideSubnets(wanted, i, address, settings.subnets);
    }
    const reason = neverHandedOut(settings, address);
    if (reason !== undefined) throw new AddressNotAllowedError('ip', address, reason, { field: `${wanted.ipsField}[${i}]` });
    return address;
  });
}

/**
 * A managed network's static addresses, checked against its definition before its switch may be
 * created (a refused ADD leaves no switch behind). Existing switches are checked by
 * staticAddresses against their own settings.
 */
export function checkManagedStatic(conf: NetConf, wanted: StaticRequest): void {
  if (conf.managed === undefined || wanted.ips === undefined) return;
  const subnets = managedSubnets(conf, conf.managed);
  wanted.ips.forEach(({ address }, i) => {
    if (!subnets.some((s) => subnetContains(s, address))) {
      throw outsideSubnets(wanted, i, address, subnets);
    }
  });
  const { otherConfig, externalIds } = managedSwitchColumns(conf.name, conf.managed);
  staticAddresses(wanted, parseIpamSettings(otherConfig, externalIds));
}

/**
 * A managed network's route request, checked against its definition (its subnets, its declared
 * `gateway`) before its switch may be created; existing switches are checked after lookupSwitch.
 */
export function checkManagedRoutes(conf: NetConf, ifName: string, request: RouteRequest): void {
  if (conf.managed === undefined || (request.defaultRoute.length === 0 && request.routes.length === 0)) return;
  // A layer3 network's gateways are its node switch's router port, known once that switch exists
  // (made for every pod of the node anyway): checked after lookupSwitch.
  if (conf.managed.topology === 'layer3') return;
  const { gateways } = conf.managed;
  const gatewayOf = (subnet: Subnet): string | undefined => gateways.find((gw) => subnetContains(subnet, gw));
  checkRouteRequest(request, { name: conf.name, ifName, subnets: managedSubnets(conf, conf.managed), gatewayOf }, conf.routes);
}

function managedSubnets(conf: NetConf, managed: ManagedNetwork): Subnet[] {
  try {
    return networkDefinition(managed).subnets;
  } catch (err) {
    if (err instanceof NetworkDefinitionError) throw definitionError(conf, err);
    throw err;
  }
}

/** An address's prefix length: its subnet's, else the one asked for with it, else a host route. */
export function prefixLength(ip: string, settings: IpamSettings, wanted: StaticRequest): number {
  const subnet = subnetOf(settings, ip);
  if (subnet !== undefined) return subnet.prefixLength;
  return wanted.ips?.find((s) => s.address === ip)?.prefixLength ?? bitsOf(familyOf(ip) ?? 4);
}

/**
 * The port this attachment already has (repeated ADD: its own, or the IPAMClaim's port it joined
 * as a live migration's target), checked to be on the right switch.
 */
export function existingPort(ctx: Attacher, req: NetworkRequest, lspName: string, sw: LogicalSwitch): LogicalPort | undefined {
  const found = findAttachmentPort(ctx.nb, req.containerId, req.ifName);
  if (found === undefined) {
    if (findPort(ctx.nb, lspName) !== undefined) throw new AttachmentConflictError(`logical switch port ${lspName} exists and belongs to someone else`);
    return undefined;
  }
  const { port } = found;
  const on = switchOfPort(ctx.nb, port.uuid);
  if (on?.uuid !== sw.uuid) {
    throw new InvalidConfigError(`${fieldOf(req.conf, 'logicalSwitch')}: this attachment already exists on logical switch ${shown(on?.name ?? '?')}`, { field: fieldOf(req.conf, 'logicalSwitch') });
  }
  return port;
}

/**
 * The gateway reported for an address of `subnet`: the one a managed network declares, else
 * the address of a router port connected to the switch in that subnet.
 */
export function subnetGateway(ctx: Attacher, sw: LogicalSwitch, settings: IpamSettings, subnet: Subnet): string | undefined {
  return settings.gateways.find((gw) => subnetOf(settings, gw) === subnet) ?? switchGateway(ctx.nb, sw, subnet);
}

/**
 * The routes of the pod's interface: the config's, and for a layer3 network one to each cluster
 * subnet through the node's gateway of its family (the router reaches the other nodes' subnets).
 */
export function networkRoutes(ctx: Attacher, conf: NetConf, sw: LogicalSwitch, settings: IpamSettings): ConfigRoute[] {
  const routes = conf.routes.map((r) => ({ ...r }));
  if (conf.managed?.topology !== 'layer3') return routes;
  for (const cluster of networkDefinition(conf.managed).subnets) {
    const nodeSubnet = settings.subnets.find((s) => s.family === cluster.family);
    const gw = nodeSubnet === undefined ? undefined : subnetGateway(ctx, sw, settings, nodeSubnet);
    if (gw === undefined) throw new InvalidConfigError(`${fieldOf(conf, 'logicalSwitch')}: logical switch ${sw.name} has no router port in ${cluster.cidr}`, { field: fieldOf(conf, 'logicalSwitch') });
    routes.push({ dst: cluster.cidr, gw });
  }
  return routes;
}

/**
 * The result's IPs for `ips`: each with its prefix length and its subnet's gateway, if any, and
 * the index of the interface they are on (none in an IPAM plugin's result).
 */
export function resultIps(ctx: Attacher, sw: LogicalSwitch, settings: IpamSettings, wanted: StaticRequest, ips: readonly string[], onInterface?: number): ResultIp[] {
  return ips.map((ip) => {
    const subnet = subnetOf(settings, ip);
    const gateway = subnet === undefined ? undefined : subnetGateway(ctx, sw, settings, subnet);
    return {
      address: `${ip}/${prefixLength(ip, settings, wanted)}`,
      ...(gateway === undefined ? {} : { gateway }),
      ...(onInterface === undefined ? {} : { interface: onInterface }),
    };
  });
}

/**
 * A failed allocation, with the field of the request it concerns (the static ips or mac asked
 * for, or the IPAMClaim named); anything else is returned as it is.
 */
export function allocationError(err: unknown, wanted: StaticRequest): unknown {
  if (err instanceof AddressInUseError) return new AddressInUseError(err.kind, err.address, err.owner, { field: err.kind === 'ip' ? wanted.ipsField : wanted.macField, cause: err });
  if (err instanceof AddressNotAllowedError) return new AddressNotAllowedError(err.kind, err.address, err.reason, { field: askedBy(wanted, err.kind, err.address), cause: err });
  if (err instanceof ClaimMismatchError) return new ClaimMismatchError(err.kind, err.message, { field: err.kind === 'ip' ? wanted.ipsField : wanted.macField, cause: err });
  const field = wanted.ipamClaim?.field ?? 'ipam-claim-reference';
  if (err instanceof MigrationInFlightError) return new MigrationInFlightError(err.message, { field, cause: err });
  if (err instanceof SameChassisError) return new SameChassisError(err.message, { field, cause: err });
  return err;
}

/** The request field that asked for `address`: a static one by its place, else the IPAMClaim that holds it. */
function askedBy(wanted: StaticRequest, kind: 'ip' | 'mac', address: string): string {
  const claim = wanted.ipamClaim?.field ?? 'ipam-claim-reference';
  if (kind === 'mac') return wanted.mac === address ? wanted.macField : claim;
  const i = wanted.ips?.findIndex((ip) => ip.address === address) ?? -1;
  return i < 0 ? claim : `${wanted.ipsField}[${i}]`;
}

/** A managed network's definition refused, named as the config has it. */
function definitionError(conf: NetConf, err: NetworkDefinitionError): InvalidConfigError {
  const field = fieldOf(conf, err.field);
  return new InvalidConfigError(`${field}: ${err.message}`, { details: err.details, field, cause: err });
}

/** Code 7 for the i-th static address, outside the subnets of the network. */
function outsideSubnets(wanted: StaticRequest, i: number, address: string, subnets: readonly Subnet[]): InvalidConfigError {
  const field = `${wanted.ipsField}[${i}]`;
  return new InvalidConfigError(`${field}: ${shown(address)} is outside the network's subnets`, { details: subnets.map((s) => s.cidr).join(', '), field });
}
