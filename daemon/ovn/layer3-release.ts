/**
 * A dead node's layer3 switches (daemon/ovn/layer3.ts), released with the node once its pods'
 * ports are gone (attachments/release-node.ts): the switch, its router port and the node's
 * subnet keys on the router go in one transaction that first `wait`s for the switch to hold
 * nothing but its router-type port, so a port someone made meanwhile keeps it. Read by `select`s
 * of the switches marked for the node (a scan of the switch table, no port table).
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { condition, eq, mutation, type Condition } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { selectedRows } from '../ovsdb/model.ts';
import { NbTable, type LogicalRouter, type LogicalRouterPort, type LogicalSwitch, type LogicalSwitchPort } from '../ovsdb/models/nb.ts';
import { nodeSubnetKey } from './node-subnets.ts';
import { IpamKeys, Layer3Keys } from './ids.ts';
import { joinPortNames } from './layer3.ts';
import { nbOps } from './nb.ts';

type Transactor = Pick<OvsdbClient, 'transact'>;
type SwitchRow = Pick<LogicalSwitch, '_uuid' | 'name' | 'ports' | 'external_ids'>;

const includes = (key: string, value: string): Condition<'external_ids'> => condition('external_ids', 'includes', new Map([[key, value]]));
const LAYER3 = includes(Layer3Keys.topology, 'layer3');

/** The nodes other than `except` that have a layer3 switch (whose ports may all be gone). */
export async function nodesWithLayer3Switches(nb: Transactor, except: Iterable<string>, signal: AbortSignal): Promise<Set<string>> {
  const where = [LAYER3, ...[...except].map((node) => condition('external_ids', 'excludes', new Map([[Layer3Keys.node, node]])))];
  const [result] = await nb.transact([nbOps.select(NbTable.Logical_Switch, where, ['external_ids'])], signal);
  const nodes = new Set<string>();
  for (const row of selectedRows<LogicalSwitch, 'external_ids'>(result)) {
    const node = row.external_ids.get(Layer3Keys.node);
    if (node !== undefined && node !== '') nodes.add(node);
  }
  return nodes;
}

/** What a node's layer3 switch holds besides its router-type port: names of the others, none when empty. */
async function otherPorts(nb: Transactor, sw: SwitchRow, signal: AbortSignal): Promise<{ others: string[]; joinPort: Uuid | undefined }> {
  const results = await nb.transact(sw.ports.map((uuid) => nbOps.select(NbTable.Logical_Switch_Port, [eq('_uuid', uuid)], ['_uuid', 'name'])), signal);
  const rows = results.flatMap((r) => selectedRows<LogicalSwitchPort, '_uuid' | 'name'>(r));
  const { switchPort } = joinPortNames(sw.name);
  return { others: rows.filter((r) => r.name !== switchPort).map((r) => r.name), joinPort: rows.find((r) => r.name === switchPort)?._uuid };
}

export interface Released {
  deleted: string[];
  kept: Array<{ name: string; ports: string[] }>;
}

/**
 * Deletes the layer3 switches `where` selects that hold no port but their router-type one, with
 * their router ports and their nodes' subnet keys on the routers. Returns the names of the
 * switches deleted and of those kept (with the ports that keep them).
 */
async function releaseSwitches(nb: Transactor, where: Array<Condition<'external_ids'>>, signal: AbortSignal): Promise<Released> {
  const [found] = await nb.transact([nbOps.select(NbTable.Logical_Switch, [LAYER3, ...where], ['_uuid', 'name', 'ports', 'external_ids'])], signal);
  const deleted: string[] = [];
  const kept: Array<{ name: string; ports: string[] }> = [];
  for (const sw of selectedRows<LogicalSwitch, '_uuid' | 'name' | 'ports' | 'external_ids'>(found)) {
    const { others, joinPort } = await otherPorts(nb, sw, signal);
    if (others.length > 0) {
      kept.push({ name: sw.name, ports: others });
      continue;
    }
    const router = sw.external_ids.get(Layer3Keys.router) ?? '';
    const node = sw.external_ids.get(Layer3Keys.node) ?? '';
    const [routers, routerPorts] = await nb.transact(
      [nbOps.select(NbTable.Logical_Router, [eq('name', router)], ['_uuid']), nbOps.select(NbTable.Logical_Router_Port, [eq('name', joinPortNames(sw.name).routerPort)], ['_uuid'])],
      signal,
    );
    const keys = new Map((sw.external_ids.get(IpamKeys.subnets) ?? '').split(',').filter((c) => c !== '').map((cidr) => [nodeSubnetKey(cidr), node] as const));
    const lrps = selectedRows<LogicalRouterPort, '_uuid'>(routerPorts).map((r) => r._uuid);
    const routerOps = selectedRows<LogicalRouter, '_uuid'>(routers).map((r) =>
      nbOps.mutate(NbTable.Logical_Router, [eq('_uuid', r._uuid)], [mutation('ports', 'delete', lrps), mutation('external_ids', 'delete', keys)]),
    );
    // Its ports are referenced by it alone: the NB drops them with it.
    await nb.transact(
      [
        nbOps.wait(NbTable.Logical_Switch, [eq('_uuid', sw._uuid)], ['ports'], '==', [{ ports: joinPort === undefined ? [] : [joinPort] }], 0),
        nbOps.del(NbTable.Logical_Switch, [eq('_uuid', sw._uuid)]),
        ...routerOps,
      ],
      signal,
    );
    deleted.push(sw.name);
  }
  return { deleted, kept };
}

/** Deletes `node`'s layer3 switches that hold nothing but their router-type port (a dead node's release). */
export function releaseLayer3Switches(nb: Transactor, node: string, signal: AbortSignal): Promise<Released> {
  return releaseSwitches(nb, [includes(Layer3Keys.node, node)], signal);
}

/**
 * Deletes a whole layer3 network (a NamespacedNetwork's deletion): every node switch of the
 * router `router` that holds nothing but its router-type port, then the router once no switch
 * is left on it (a `wait` for no port, so a node that joined meanwhile keeps it). `kept` names
 * what is still in use; the router stays while anything is.
 */
export async function releaseLayer3Network(nb: Transactor, router: string, signal: AbortSignal): Promise<Released> {
  const released = await releaseSwitches(nb, [includes(Layer3Keys.router, router)], signal);
  if (released.kept.length > 0) return released;
  const [routers] = await nb.transact([nbOps.select(NbTable.Logical_Router, [eq('name', router)], ['_uuid'])], signal);
  for (const row of selectedRows<LogicalRouter, '_uuid'>(routers)) {
    await nb.transact([nbOps.wait(NbTable.Logical_Router, [eq('_uuid', row._uuid)], ['ports'], '==', [{ ports: [] }], 0), nbOps.del(NbTable.Logical_Router, [eq('_uuid', row._uuid)])], signal);
    released.deleted.push(router);
  }
  return released;
}
