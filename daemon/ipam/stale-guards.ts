/**
 * Guard keys whose port is gone: another NB client deleted a port of ours (`ovn-nbctl lsp-del`)
 * without its keys, so its addresses stay taken. The reconciler frees them once they have looked
 * stale for a grace period.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { eq, wait, type Operation } from '../ovsdb/ops.ts';
import { rowUuid } from '../lib/rows.ts';
import { isMap, type Uuid } from '../ovsdb/notation.ts';
import type { CacheIndex } from '../ovsdb/index.ts';
import { IpamKeys } from '../ovn/ids.ts';
import { portsByName, switchesByPort } from '../ovn/indexes.ts';
import { parseHolder } from './guards.ts';
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
export function staleGuardKeys(nb: OvsdbClient, seesAllPortsOf: (switchUuid: Uuid) => boolean): StaleGuardKeys[] {
  const byName = portsByName(nb);
  const onSwitch = switchesByPort(nb);
  const found: StaleGuardKeys[] = [];
  for (const row of nb.cache.table('Logical_Switch').values()) {
    const switchUuid = rowUuid(row);
    if (!seesAllPortsOf(switchUuid)) continue;
    const ids = row['external_ids'];
    if (!isMap(ids)) continue;
    const byPort = new Map<string, Map<string, string>>();
    for (const [key, value] of ids) {
      if (typeof key !== 'string' || typeof value !== 'string' || !key.startsWith(IpamKeys.address)) continue;
      const holder = parseHolder(value);
      if (holder === undefined || !('port' in holder)) continue;
      if (onThisSwitch(byName.get(holder.port), switchUuid, onSwitch)) continue;
      const pairs = byPort.get(holder.port) ?? new Map<string, string>();
      pairs.set(key, value);
      byPort.set(holder.port, pairs);
    }
    for (const [port, pairs] of byPort) found.push({ switchUuid, port, pairs });
  }
  return found;
}

/** Whether any of these ports is on the switch (index look-ups: this runs for every guard key). */
function onThisSwitch(ports: ReadonlySet<Uuid>, switchUuid: Uuid, onSwitch: CacheIndex): boolean {
  for (const port of ports) if (onSwitch.has(port, switchUuid)) return true;
  return false;
}

/** Frees them, only while no port of that name exists (one made since holds the same keys). */
export function freeStaleOps(stale: StaleGuardKeys): Operation[] {
  return [wait('Logical_Switch_Port', [eq('name', stale.port)], ['name'], '==', [], 0), ...deleteKeysOps(stale.switchUuid, stale.pairs)];
}

/** "<switch uuid> <port>": what the reconciler tracks a stale set by. */
export function staleKey(stale: StaleGuardKeys): string {
  return `${stale.switchUuid} ${stale.port} ${[...stale.pairs.keys()].sort().join(',')}`;
}

