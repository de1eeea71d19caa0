/**
 * Ports on the integration bridge in the local Open_vSwitch DB. The interface's
 * external_ids:iface-id names the logical switch port, which is how ovn-controller binds it.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { eq, mutation, type Operation } from '../ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../ovsdb/notation.ts';
import { columnKeys } from '../ovsdb/index.ts';
import type { Monitored } from '../ovsdb/model.ts';
import { typedOps } from '../ovsdb/typed-ops.ts';
import { OvsTable, type OvsTables } from '../ovsdb/models/vswitch.ts';

/** Tables and columns the daemon monitors in the local Open_vSwitch DB. */
export const OVS_MONITOR = {
  Open_vSwitch: ['bridges', 'external_ids'],
  Bridge: ['name', 'ports', 'datapath_type'],
  Port: ['name', 'interfaces', 'external_ids'],
  Interface: ['name', 'external_ids', 'ofport', 'error'],
} as const;

/** The rows the daemon's Open_vSwitch client holds. */
type OvsRows = Monitored<OvsTables, typeof OVS_MONITOR>;

/** The daemon's client of the local Open_vSwitch DB (main.ts). */
export type OvsClient = OvsdbClient<OvsRows>;

const ovsOps = typedOps<OvsTables>();

export interface Bridge {
  uuid: Uuid;
  name: string;
  /** The row's own list, shared with the cache (which replaces, never changes, a row): no copy per ADD. */
  ports: readonly Uuid[];
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

const nameKeys = columnKeys<{ readonly name: string }>('name');

/** The row of `table` named `name` (names are unique in these tables), from the cache's name index. */
function byName<T extends Exclude<keyof OvsRows, typeof OvsTable.Open_vSwitch>>(ovs: OvsClient, table: T, name: string): OvsRows[T] | undefined {
  return ovs.cache.index(table, 'name', nameKeys).rows(name)[0];
}

export function findBridge(ovs: OvsClient, name: string): Bridge | undefined {
  const row = byName(ovs, OvsTable.Bridge, name);
  return row === undefined ? undefined : { uuid: row._uuid, name, ports: row.ports, datapathType: row.datapath_type };
}

export function findBridgePort(ovs: OvsClient, name: string): BridgePort | undefined {
  const row = byName(ovs, OvsTable.Port, name);
  return row === undefined ? undefined : { uuid: row._uuid, name, externalIds: row.external_ids };
}

export function findInterface(ovs: OvsClient, name: string): BridgeInterface | undefined {
  const row = byName(ovs, OvsTable.Interface, name);
  return row === undefined ? undefined : { uuid: row._uuid, name: row.name, externalIds: row.external_ids, ofport: row.ofport, error: row.error };
}

/** Every port on `bridge` whose external_ids satisfy `match` (for garbage collection). */
export function bridgePortsWhere(ovs: OvsClient, bridge: Bridge, match: (ids: ReadonlyMap<string, string>) => boolean): BridgePort[] {
  const out: BridgePort[] = [];
  for (const uuid of bridge.ports) {
    const row = ovs.cache.row(OvsTable.Port, uuid);
    if (row === undefined) continue;
    if (match(row.external_ids)) out.push({ uuid, name: row.name, externalIds: row.external_ids });
  }
  return out;
}

/** Adds port+interface `name` (a system device) to the bridge, with iface-id and owner ids. */
export function addPortOps(bridge: Bridge, name: string, ifaceId: string, ownerIds: ReadonlyMap<string, string>): Operation[] {
  const ifaceIds = new Map(ownerIds);
  ifaceIds.set('iface-id', ifaceId);
  return [
    ovsOps.insert(OvsTable.Interface, { name, external_ids: ifaceIds }, 'new_iface'),
    ovsOps.insert(OvsTable.Port, { name, interfaces: [namedUuid('new_iface')], external_ids: ownerIds }, 'new_port'),
    ovsOps.mutate(OvsTable.Bridge, [eq('_uuid', bridge.uuid)], [mutation('ports', 'insert', [namedUuid('new_port')])]),
  ];
}

/**
 * Sets `ids` in the external_ids of interface `name` (what the node records of its logical
 * switch port, ids.ts RecordKeys), after deleting the keys `replaced` (an older record). By name:
 * a scan of the node's own Interface table, no bigger than its ports.
 */
export function recordInterfaceOps(name: string, ids: ReadonlyMap<string, string>, replaced: readonly string[]): Operation[] {
  return [ovsOps.mutate(OvsTable.Interface, [eq('name', name)], [mutation('external_ids', 'delete', replaced), mutation('external_ids', 'insert', ids)])];
}

/** Removes the port from the bridge; its Port and Interface rows go with it. */
export function deletePortOps(bridge: Bridge, portUuid: Uuid): Operation[] {
  return [ovsOps.mutate(OvsTable.Bridge, [eq('_uuid', bridge.uuid)], [mutation('ports', 'delete', [portUuid])])];
}
