/**
 * Layer3 networks (OVN-Kubernetes' `layer3` model): one logical router for the network and, per
 * node, a logical switch holding only that node's ports, joined to the router by a router port
 * whose address is the first host address of the node's subnet (its pods' gateway). The router
 * is distributed: pods on different nodes reach each other through it, each chassis routing
 * its own pods' traffic.
 *
 * All of it is made on a node's first ADD on the network, by one transaction that `wait`s like
 * the managed switch's (ovn/managed.ts): the router once (`wait` for no router of its name), each
 * node's switch once (the same for the switch), and the node's subnets with guard keys on the
 * router, `ovn-multinet/node-subnet:<cidr>` = the node, inserted then `wait`ed for (guards.ts'
 * pattern): a subnet another node took meanwhile fails the transaction without effect, and the
 * daemon reads the router again and picks another. The router is never in the daemon's monitor
 * (its NB view stays its own node's): it is read by one `select` when the node's switch is made.
 */
import { OvsdbTransactionError, NetworkDefinitionError, PoolExhaustedError } from '../errors.ts';
import type { ManagedNetwork } from '../netconf/managed.ts';
import { condition, eq, mutation, type Operation } from '../ovsdb/ops.ts';
import { namedUuid } from '../ovsdb/notation.ts';
import { selectedRows } from '../ovsdb/model.ts';
import { NbTable, type LogicalRouter } from '../ovsdb/models/nb.ts';
import { bigIntToIp, conventionalGateway, macForIpv4, type Subnet } from '../lib/ip.ts';
import { freeNodeSubnet, nodeSubnetKey, nodeSubnetsOf } from './node-subnets.ts';
import { IpamKeys, Layer3Keys, OWNER_VALUE, OwnerKeys } from './ids.ts';
import { hashOf, networkDefinition } from './managed.ts';
import { findSwitch, type LogicalSwitch } from './switches.ts';
import { type NbClient, nbOps } from './nb.ts';

/** How many times a node's first ADD reads the router again after another node changed it. */
const MAX_ATTEMPTS = 8;

/** A Kubernetes node name (an RFC 1123 subdomain): never holds "_", so `<switch>_<node>` names are unique. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface Layer3Names {
  router: string;
  nodeSwitch: string;
  /** The router's port on the node's switch, and the switch's router-type port peering it. */
  routerPort: string;
  switchPort: string;
}

/**
 * The switch of the layer3 network `base` (its logicalSwitch) on `node`: `<base>_<node>`. Node
 * names have no "_" (layer3Names checks), so no two (network, node) pairs share one.
 */
export function layer3SwitchName(base: string, node: string): string {
  return `${base}_${node}`;
}

const ROUTER_SUFFIX = '_router';

/** The router of the layer3 network `base` (its logicalSwitch). */
export function layer3RouterName(base: string): string {
  return `${base}${ROUTER_SUFFIX}`;
}

/** The network (its logicalSwitch) a layer3 router serves. */
export function layer3BaseOfRouter(router: string): string | undefined {
  return router.endsWith(ROUTER_SUFFIX) ? router.slice(0, -ROUTER_SUFFIX.length) : undefined;
}

/**
 * The network (its logicalSwitch) a switch is part of: a layer3 node switch's is its router's,
 * any other switch is its own.
 */
export function networkOfSwitch(name: string, externalIds: ReadonlyMap<string, string>): string {
  const router = externalIds.get(Layer3Keys.router);
  return router === undefined ? name : (layer3BaseOfRouter(router) ?? name);
}

/** The router port joining a node's switch to the router, and the switch's router-type port peering it. */
export function joinPortNames(nodeSwitch: string): Pick<Layer3Names, 'routerPort' | 'switchPort'> {
  return { routerPort: `omn-rtos-${nodeSwitch}`, switchPort: `omn-stor-${nodeSwitch}` };
}

/** The NB names of the layer3 network `base` on `node`, which must be a Kubernetes node name. */
function layer3Names(base: string, node: string): Layer3Names {
  if (node.length > 253 || !NODE_NAME.test(node)) {
    throw new NetworkDefinitionError('topology', `the node name ${JSON.stringify(node)} (--node-name) is not a Kubernetes node name, which a layer3 switch is named after`);
  }
  const nodeSwitch = layer3SwitchName(base, node);
  return { router: layer3RouterName(base), nodeSwitch, ...joinPortNames(nodeSwitch) };
}

/** The canonical definition of a layer3 network and its hash, as its router and switches record them. */
function definitionMarks(network: string, net: ManagedNetwork): { text: string; marks: Map<string, string>; subnets: Subnet[]; excluded: Subnet[]; lengths: Map<number, number> } {
  const { definition, subnets, excluded } = networkDefinition(net);
  const text = JSON.stringify(definition);
  const marks = new Map([
    [OwnerKeys.owner, OWNER_VALUE],
    [OwnerKeys.managedNetwork, network],
    [OwnerKeys.networkDefinition, text],
    [OwnerKeys.networkHash, hashOf(text)],
  ]);
  const lengths = new Map<number, number>();
  if (definition.hostSubnetLength !== undefined) lengths.set(4, definition.hostSubnetLength);
  if (definition.hostSubnetLengthV6 !== undefined) lengths.set(6, definition.hostSubnetLengthV6);
  return { text, marks, subnets, excluded, lengths };
}

/** Refuses a row of that name that ovn-multinet did not make, or made for another definition. */
function checkMarks(what: string, name: string, ids: ReadonlyMap<string, string>, network: string, text: string): void {
  const theirs = ids.get(OwnerKeys.networkDefinition);
  if (ids.get(OwnerKeys.managedNetwork) === undefined || theirs === undefined) {
    throw new NetworkDefinitionError('topology', `${what} ${name} exists and was not created by ovn-multinet`, 'a layer3 network names its router <logicalSwitch>_router and its node switches <logicalSwitch>_<node>');
  }
  if (ids.get(OwnerKeys.networkHash) !== hashOf(text)) {
    throw new NetworkDefinitionError(
      'topology',
      `network ${network}: this definition differs from the one ${what} ${name} was created with`,
      `this config: ${text}; existing (network ${ids.get(OwnerKeys.managedNetwork) ?? '?'}): ${theirs}`,
    );
  }
}

type RouterRow = Pick<LogicalRouter, '_uuid' | 'external_ids'>;

/** The network's router as the NB has it now (one `select`: the router is not in the daemon's view). */
async function readRouter(nb: NbClient, name: string, signal: AbortSignal): Promise<RouterRow | undefined> {
  const [result] = await nb.transact([nbOps.select(NbTable.Logical_Router, [eq('name', name)], ['_uuid', 'external_ids'])], signal);
  const rows = selectedRows<LogicalRouter, '_uuid' | 'external_ids'>(result);
  if (rows.length > 1) throw new NetworkDefinitionError('topology', `more than one logical router is named ${name}`);
  return rows[0];
}

/** The node's subnets: those the router already gives it, else the first free one of each family. */
function nodeSubnets(clusters: readonly Subnet[], lengths: ReadonlyMap<number, number>, routerIds: ReadonlyMap<string, string>, node: string): Subnet[] {
  const held = nodeSubnetsOf(routerIds, node);
  return clusters.map((cluster) => {
    const length = lengths.get(cluster.family) ?? cluster.prefixLength;
    const mine = held.find((s) => s.family === cluster.family && s.prefixLength === length && s.network >= cluster.network && s.last <= cluster.last);
    const subnet = mine ?? freeNodeSubnet(cluster, length, routerIds);
    if (subnet === undefined) throw new PoolExhaustedError(`topology: every /${length} node subnet of ${cluster.cidr} is taken by another node`, { field: 'topology', details: 'a longer hostSubnetLength, or a larger subnet, leaves room for more nodes' });
    return subnet;
  });
}

/** The router port's MAC: 0a:58 + its IPv4 address as for pods, else one derived from its name. */
function routerPortMac(gateways: ReadonlyArray<{ family: number; address: string }>, routerPort: string): string {
  const v4 = gateways.find((g) => g.family === 4);
  if (v4 !== undefined) return macForIpv4(v4.address);
  const hex = hashOf(routerPort);
  return ['0a', '59', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6), hex.slice(6, 8)].join(':');
}

/** Where the guard of each part sits in createOps' transaction: a failed `wait` there says who raced. */
interface Created {
  ops: Operation[];
  /** Index of the `wait` for no switch of the node's name. */
  switchWait: number;
}

function createOps(names: Layer3Names, network: string, node: string, router: RouterRow | undefined, subnets: readonly Subnet[], def: ReturnType<typeof definitionMarks>): Created {
  const gateways = subnets.map((s) => ({ family: s.family, address: bigIntToIp(conventionalGateway(s), s.family), length: s.prefixLength }));
  const keys = new Map(subnets.map((s) => [nodeSubnetKey(s.cidr), node] as const));
  // The router port first: the router's `ports` refers to it by its uuid-name.
  const ops: Operation[] = [
    nbOps.insert(
      NbTable.Logical_Router_Port,
      { name: names.routerPort, mac: routerPortMac(gateways, names.routerPort), networks: gateways.map((g) => `${g.address}/${g.length}`), external_ids: new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.managedNetwork, network]]) },
      'lrp',
    ),
  ];
  if (router === undefined) {
    ops.push(nbOps.wait(NbTable.Logical_Router, [eq('name', names.router)], ['name'], '==', [], 0));
    ops.push(nbOps.insert(NbTable.Logical_Router, { name: names.router, ports: [namedUuid('lrp')], external_ids: new Map([...def.marks, ...keys]) }, 'router'));
  } else {
    const where = [eq('_uuid', router._uuid)];
    ops.push(nbOps.mutate(NbTable.Logical_Router, where, [mutation('external_ids', 'insert', keys), mutation('ports', 'insert', [namedUuid('lrp')])]));
    ops.push(nbOps.wait(NbTable.Logical_Router, [...where, condition('external_ids', 'includes', keys)], ['name'], '==', [{ name: names.router }], 0));
  }
  const switchWait = ops.length;
  ops.push(nbOps.wait(NbTable.Logical_Switch, [eq('name', names.nodeSwitch)], ['name'], '==', [], 0));
  ops.push(
    nbOps.insert(
      NbTable.Logical_Switch_Port,
      { name: names.switchPort, type: 'router', addresses: ['router'], options: new Map([['router-port', names.routerPort]]), external_ids: new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.managedNetwork, network]]) },
      'stor',
    ),
  );
  const v4 = subnets.find((s) => s.family === 4);
  const externalIds = new Map([
    ...def.marks,
    [IpamKeys.subnets, subnets.map((s) => s.cidr).join(',')],
    [Layer3Keys.topology, 'layer3'],
    [Layer3Keys.node, node],
    [Layer3Keys.router, names.router],
  ]);
  if (def.excluded.length > 0) externalIds.set(IpamKeys.excludeSubnets, def.excluded.map((s) => s.cidr).join(','));
  ops.push(
    nbOps.insert(NbTable.Logical_Switch, {
      name: names.nodeSwitch,
      ports: [namedUuid('stor')],
      other_config: new Map(v4 === undefined ? [] : [['subnet', v4.cidr]]),
      external_ids: externalIds,
    }),
  );
  return { ops, switchWait };
}

/**
 * The node's switch of the layer3 network `base` (its logicalSwitch): found (same definition) or
 * made with the router (once), the node's subnets and the router port. Refused (nothing made)
 * when the router or the switch exists with another definition or was not made by ovn-multinet.
 */
export async function ensureLayer3Switch(nb: NbClient, base: string, network: string, net: ManagedNetwork, node: string, signal: AbortSignal): Promise<LogicalSwitch> {
  const names = layer3Names(base, node);
  const def = definitionMarks(network, net);
  for (let attempt = 0; ; attempt++) {
    const existing = findSwitch(nb, names.nodeSwitch);
    if (existing !== undefined) {
      checkMarks('logical switch', names.nodeSwitch, existing.externalIds, network, def.text);
      if (existing.externalIds.get(Layer3Keys.node) !== node) throw new NetworkDefinitionError('topology', `logical switch ${names.nodeSwitch} is not a layer3 node switch of node ${node}`);
      return existing;
    }
    const router = await readRouter(nb, names.router, signal);
    if (router !== undefined) checkMarks('logical router', names.router, router.external_ids, network, def.text);
    const subnets = nodeSubnets(def.subnets, def.lengths, router?.external_ids ?? new Map(), node);
    const { ops, switchWait } = createOps(names, network, node, router, subnets, def);
    try {
      await nb.transact(ops, signal);
    } catch (err) {
      // A failed `wait`: the router, a subnet or the switch was taken meanwhile; look again.
      if (!(err instanceof OvsdbTransactionError) || err.kind !== 'timed-out' || attempt >= MAX_ATTEMPTS) throw err;
      if (err.opIndex !== switchWait) continue;
    }
    await nb.cache.waitForRow(NbTable.Logical_Switch, (row) => row.name === names.nodeSwitch, signal);
  }
}
