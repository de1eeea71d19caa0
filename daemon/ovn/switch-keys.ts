/**
 * Keys in a logical switch's external_ids that a writer takes for itself, atomically: the
 * per-address guards (daemon/ipam/guards.ts), IPAMClaim reservations, a network's DHCP options.
 */
import { condition, eq, mutation, type Operation } from '../ovsdb/ops.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import type { LogicalSwitch } from './switches.ts';
import { nbOps } from './nb.ts';

/**
 * Takes `pairs` on the switch: inserts them, then `wait`s until the switch holds every one with
 * its value. A map insert leaves a key already there unchanged, so a key another writer took
 * meanwhile fails the `wait`: the second operation, at index 1, is the guard. Both select the
 * switch by `_uuid`, which ovsdb-server looks up directly (a `where` on another column is a scan
 * of the whole table in OVS 3.1).
 */
export function takeKeysOps(sw: Pick<LogicalSwitch, 'uuid' | 'name'>, pairs: ReadonlyMap<string, string>): Operation[] {
  return [
    nbOps.mutate(NbTable.Logical_Switch, [eq('_uuid', sw.uuid)], [mutation('external_ids', 'insert', pairs)]),
    nbOps.wait(NbTable.Logical_Switch, [eq('_uuid', sw.uuid), condition('external_ids', 'includes', pairs)], ['name'], '==', [{ name: sw.name }], 0),
  ];
}

/** Deletes `pairs` from the switch; a key whose value changed meanwhile is left alone. */
export function deleteKeysOps(switchUuid: Uuid, pairs: ReadonlyMap<string, string>): Operation[] {
  return pairs.size === 0 ? [] : [nbOps.mutate(NbTable.Logical_Switch, [eq('_uuid', switchUuid)], [mutation('external_ids', 'delete', pairs)])];
}
