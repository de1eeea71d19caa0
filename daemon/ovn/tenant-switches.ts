/**
 * The controller's reads and writes of NamespacedNetworks' switches (controller/tenant-sync.ts):
 * whether the switch exists and how many ovn-multinet ports it has (from the controller's NB
 * cache: its own ports carry ScopeKeys.switch = the switch's uuid), and the transaction that
 * deletes it, which commits only while the switch has no port at all (anyone's), so a port made
 * meanwhile keeps it.
 */
import { eq, type Operation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { ScopeKeys } from './ids.ts';
import { nbOps } from './nb.ts';
import { switchNamed } from './switches.ts';
import type { ControllerNbClient } from './exposed.ts';
import { AmbiguousSwitchError } from '../errors.ts';

/** A switch as a NamespacedNetwork's deletion sees it. */
export type SwitchUse = { kind: 'missing' } | { kind: 'present'; uuid: Uuid; ports: number } | { kind: 'unknown'; why: string };

export function switchUse(nb: ControllerNbClient, name: string): SwitchUse {
  let row;
  try {
    row = switchNamed(nb, name);
  } catch (err) {
    if (err instanceof AmbiguousSwitchError) return { kind: 'unknown', why: err.message };
    throw err;
  }
  if (row === undefined) return { kind: 'missing' };
  let ports = 0;
  for (const port of nb.cache.table(NbTable.Logical_Switch_Port).values()) if (port.external_ids.get(ScopeKeys.switch) === row._uuid) ports++;
  return { kind: 'present', uuid: row._uuid, ports };
}

/** Deletes the switch (its guard keys and settings with it) if it has no port left. */
export function deleteEmptySwitchOps(uuid: Uuid): Operation[] {
  return [nbOps.wait(NbTable.Logical_Switch, [eq('_uuid', uuid)], ['ports'], '==', [{ ports: [] }], 0), nbOps.del(NbTable.Logical_Switch, [eq('_uuid', uuid)])];
}
