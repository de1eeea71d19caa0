/**
 * Ports on the integration bridge in the local Open_vSwitch DB. The interface's
 * external_ids:iface-id names the logical switch port, which is how ovn-controller binds it.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { eq, insert, mutate, mutation, type Operation } from '../ovsdb/ops.ts';
import { namedUuid, type Row, type Uuid } from '../ovsdb/notation.ts';
import { columnKeys } from '../ovsdb/index.ts';
import { numberOf, rowUuid, stringMapOf, stringOf, uuidsOf } from '../lib/rows.ts';

/** Tables and columns the daemon monitors in the local Open_vSwitch DB. */
export const OVS_MONITOR = {
  Open_vSwitch: ['bridges', 'external_ids'],
  Bridge: ['name', 'ports', 'datapath_type'],
  Port: ['name', 'interfaces', 'external_ids'],
  Interface: ['name', 'external_ids', 'ofport', 'error'],
} as const;

export interface Bridge {
  uuid: Uuid;
  name: string;
  ports: Uuid[];
  datapathType: string;
}

export interface BridgePort {
  uuid: Uuid;
  name: string;
  externalIds: ReadonlyMap<string, string>;
}

export interface BridgeInterface {
  uuid: Uuid;
  name: string;
  externalIds: ReadonlyMap<string, string>;
  ofport: number | undefined;
  error: string | undefined;
}

/** The row of `table` named `name` (names are unique in these tables), from the cache's name index. */
function byName(ovs: OvsdbClient, table: 'Bridge' | 'Port' | 'Interface', name: string): Row | undefined {
  return ovs.cache.index(table, 'name', columnKeys('name')).rows(name)[0];
}

export function findBridge(ovs: OvsdbClient, name: string): Bridge | undefined {
  const row = byName(ovs, 'Bridge', name);
  return row === undefined ? undefined : { uuid: rowUuid(row), name, ports: uuidsOf(row, 'ports'), datapathType: stringOf(row, 'datapath_type') ?? '' };
}

export function findBridgePort(ovs: OvsdbClient, name: string): BridgePort | undefined {
  const row = byName(ovs, 'Port', name);
  return row === undefined ? undefined : { uuid: rowUuid(row), name, externalIds: stringMapOf(row, 'external_ids') };
}

function toInterface(row: Row): BridgeInterface {
  return {
    uuid: rowUuid(row),
    name: stringOf(row, 'name') ?? '',
    externalIds: stringMapOf(row, 'external_ids'),
    ofport: numberOf(row, 'ofport'),
    error: stringOf(row, 'error'),
  };
}

export function findInterface(ovs: OvsdbClient, name: string): BridgeInterface | undefined {
  const row = byName(ovs, 'Interface', name);
  return row === undefined ? undefined : toInterface(row);
}

/** Every port on `bridge` whose external_ids satisfy `match` (for garbage collection). */
export function bridgePortsWhere(ovs: OvsdbClient, bridge: Bridge, match: (ids: ReadonlyMap<string, string>) => boolean): BridgePort[] {
  const out: BridgePort[] = [];
  for (const uuid of bridge.ports) {
    const row = ovs.cache.row('Port', uuid);
    if (row === undefined) continue;
    const externalIds = stringMapOf(row, 'external_ids');
    if (match(externalIds)) out.push({ uuid, name: stringOf(row, 'name') ?? '', externalIds });
  }
  return out;
}

/** Adds port+interface `name` (a system device) to the bridge, with iface-id and owner ids. */
export function addPortOps(bridge: Bridge, name: string, ifaceId: string, ownerIds: ReadonlyMap<string, string>): Operation[] {
  const ifaceIds = new Map(ownerIds);
  ifaceIds.set('iface-id', ifaceId);
  return [
    insert('Interface', { name, external_ids: ifaceIds }, 'new_iface'),
    insert('Port', { name, interfaces: [namedUuid('new_iface')], external_ids: ownerIds }, 'new_port'),
    mutate('Bridge', [eq('_uuid', bridge.uuid)], [mutation('ports', 'insert', [namedUuid('new_port')])]),
  ];
}

/** Removes the port from the bridge; its Port and Interface rows go with it. */
export function deletePortOps(bridge: Bridge, portUuid: Uuid): Operation[] {
  return [mutate('Bridge', [eq('_uuid', bridge.uuid)], [mutation('ports', 'delete', [portUuid])])];
}
