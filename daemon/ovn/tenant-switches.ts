/**
 * The controller's reads and writes of NamespacedNetworks' switches (controller/tenant-sync.ts):
 * whether the switch exists and how many ovn-multinet ports it has (from the controller's NB
 * cache: its own ports carry ScopeKeys.switch = the switch's uuid), and the transaction that
 * deletes it, which commits only while the switch has no port at all (anyone's), so a port made
 * meanwhile keeps it. A layer3 network has no switch of its name but a router and a switch per
 * node (layer3.ts): their ports are counted together, and layer3-release.ts deletes them.
 */
import { eq, type Operation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { Layer3Keys, ScopeKeys } from './ids.ts';
import { layer3RouterName, networkOfSwitch } from './layer3.ts';
import { nbOps } from './nb.ts';
import { switchNamed } from './switches.ts';
import type { ControllerNbClient } from './exposed.ts';
import { AmbiguousSwitchError } from '../errors.ts';

/** A switch as a NamespacedNetwork's deletion sees it. */
export type SwitchUse =
  | { kind: 'missing' }
  /** A layer2 network's switch. */
  | { kind: 'present'; uuid: Uuid; ports: number }
  /** A layer3 network's router and node switches. */
  | { kind: 'present'; layer3Router: string; ports: number }
  | { kind: 'unknown'; why: string };

const countPorts = (nb: ControllerNbClient, switches: ReadonlySet<string>): number => {
  let ports = 0;
  for (const port of nb.cache.table(NbTable.Logical_Switch_Port).values()) if (switches.has(port.external_ids.get(ScopeKeys.switch) ?? '')) ports++;
  return ports;
};

/** The layer3 network `base`: its router, if there, and its node switches' ports. */
function layer3Use(nb: ControllerNbClient, base: string): SwitchUse {
  const router = layer3RouterName(base);
  const switches = new Set<string>();
  for (const row of nb.cache.table(NbTable.Logical_Switch).values()) if (row.external_ids.get(Layer3Keys.router) === router) switches.add(row._uuid);
  const hasRouter = [...nb.cache.table(NbTable.Logical_Router).values()].some((row) => row.name === router);
  if (switches.size === 0 && !hasRouter) return { kind: 'missing' };
  return { kind: 'present', layer3Router: router, ports: countPorts(nb, switches) };
}

/** The networks (their logicalSwitch) of the switches marked with `managedKey`: a layer3 node switch stands for its network. */
export function managedNetworkSwitches(nb: ControllerNbClient, managedKey: string): string[] {
  const names = new Set<string>();
  for (const row of nb.cache.table(NbTable.Logical_Switch).values()) if (row.external_ids.has(managedKey)) names.add(networkOfSwitch(row.name, row.external_ids));
  return [...names];
}

export function switchUse(nb: ControllerNbClient, name: string): SwitchUse {
  let row;
  try {
    row = switchNamed(nb, name);
  } catch (err) {
    if (err instanceof AmbiguousSwitchError) return { kind: 'unknown', why: err.message };
    throw err;
  }
  if (row === undefined) return layer3Use(nb, name);
  return { kind: 'present', uuid: row._uuid, ports: countPorts(nb, new Set([row._uuid])) };
}

/** Deletes the switch (its guard keys and settings with it) if it has no port left. */
export function deleteEmptySwitchOps(uuid: Uuid): Operation[] {
  return [nbOps.wait(NbTable.Logical_Switch, [eq('_uuid', uuid)], ['ports'], '==', [{ ports: [] }], 0), nbOps.del(NbTable.Logical_Switch, [eq('_uuid', uuid)])];
}
