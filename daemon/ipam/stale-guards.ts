/**
 * Guard keys whose port is gone: another NB client deleted a port of ours (`ovn-nbctl lsp-del`)
 * without its keys, so its addresses stay taken. The reconciler frees them once they have looked
 * stale for a grace period.
 */
import { eq, mutation, type Operation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { IpamKeys } from '../ovn/ids.ts';
import { type NbClient, type SwitchRow, nbOps } from '../ovn/nb.ts';
import { lostKey, parseHolder } from './guards.ts';
import { deleteKeysOps } from '../ovn/switch-keys.ts';

export interface StaleGuardKeys {
  switchUuid: Uuid;
  /** The name of the port that is gone. */
  port: string;
  pairs: Map<string, string>;
}

/**
 * On every switch in the cache whose ports are all in view (`seesAllPortsOf`: a switch in view
 * only for this node's own ports shows the other nodes' keys without their ports): the guard
 * keys held by a port that is not on that switch.
 */
export function staleGuardKeys(nb: NbClient, seesAllPortsOf: (switchUuid: Uuid) => boolean): StaleGuardKeys[] {
  const found: StaleGuardKeys[] = [];
  for (const row of nb.cache.table(NbTable.Logical_Switch).values()) {
    if (seesAllPortsOf(row._uuid)) found.push(...staleOnSwitch(nb, row));
  }
  return found;
}

/**
 * Switch row versions found with no stale key. A port gone from a switch always changes the
 * switch's `ports`, so the cache replaces the row, and an unchanged row (an idle switch) costs
 * nothing. A row with stale keys is looked at again each time: a port may still be on its way
 * into the view.
 */
const settledRows = new WeakSet<SwitchRow>();

/**
 * One set of the switch's port names, then one look-up per guard key: a switch of 20,000 ports
 * holds 40,000 keys, read at every pass that finds its row changed.
 */
function staleOnSwitch(nb: NbClient, row: SwitchRow): readonly StaleGuardKeys[] {
  if (settledRows.has(row)) return [];
  const switchUuid = row._uuid;
  const names = new Set<string>();
  for (const uuid of row.ports) {
    const name = nb.cache.row(NbTable.Logical_Switch_Port, uuid)?.name;
    if (name !== undefined) names.add(name);
  }
  const byPort = new Map<string, Map<string, string>>();
  for (const [key, value] of row.external_ids) {
    if (!key.startsWith(IpamKeys.address)) continue;
    const holder = parseHolder(value);
    // A port lost by a live attachment (restore.ts) keeps its keys.
    if (holder === undefined || !('port' in holder) || names.has(holder.port) || row.external_ids.has(lostKey(holder.port))) continue;
    const pairs = byPort.get(holder.port) ?? new Map<string, string>();
    pairs.set(key, value);
    byPort.set(holder.port, pairs);
  }
  if (byPort.size === 0) settledRows.add(row);
  return [...byPort].map(([port, pairs]) => ({ switchUuid, port, pairs }));
}

/** Frees them, only while no port of that name exists (one made since holds the same keys). */
export function freeStaleOps(stale: StaleGuardKeys): Operation[] {
  return [nbOps.wait(NbTable.Logical_Switch_Port, [eq('name', stale.port)], ['name'], '==', [], 0), ...deleteKeysOps(stale.switchUuid, stale.pairs)];
}

/** Marks port `port` as lost by a live attachment of `node`: its guard keys are kept (restore.ts). */
export function markLostOps(switchUuid: Uuid, port: string, node: string): Operation[] {
  return [nbOps.mutate(NbTable.Logical_Switch, [eq('_uuid', switchUuid)], [mutation('external_ids', 'insert', new Map([[lostKey(port), node]]))])];
}

/** "<switch uuid> <port>": what the reconciler tracks a stale set by. */
export function staleKey(stale: StaleGuardKeys): string {
  return `${stale.switchUuid} ${stale.port} ${[...stale.pairs.keys()].sort().join(',')}`;
}

