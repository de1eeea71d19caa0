/**
 * Logical switch ports in the NB. Writes are built as operation lists; the caller sends them as
 * one transaction. Creating a port is guarded by a `wait` on the switch's `ports` column so that
 * an address chosen from the cache is committed only if no other writer (another node's daemon,
 * an admin) changed the switch meanwhile: optimistic concurrency, no duplicate address ever.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { eq, insert, mutate, mutation, wait, type Operation } from '../ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../ovsdb/notation.ts';
import { rowUuid, stringMapOf, stringOf, stringsOf } from '../lib/rows.ts';
import type { LogicalSwitch } from './switches.ts';

export interface LogicalPort {
  uuid: Uuid;
  name: string;
  addresses: string[];
  portSecurity: string[];
  externalIds: ReadonlyMap<string, string>;
}

export interface NewPort {
  name: string;
  mac: string;
  ips: string[];
  portSecurity: boolean;
  externalIds: ReadonlyMap<string, string>;
}

export function findPort(nb: OvsdbClient, name: string): LogicalPort | undefined {
  for (const row of nb.cache.table('Logical_Switch_Port').values()) {
    if (stringOf(row, 'name') !== name) continue;
    return {
      uuid: rowUuid(row),
      name,
      addresses: stringsOf(row, 'addresses'),
      portSecurity: stringsOf(row, 'port_security'),
      externalIds: stringMapOf(row, 'external_ids'),
    };
  }
  return undefined;
}

/** "MAC IP IP": the form of `addresses` and `port_security` entries. */
export function addressEntry(mac: string, ips: readonly string[]): string {
  return [mac, ...ips].join(' ');
}

/** Inserts the port and links it to the switch, if the switch's ports are still what the caller saw. */
export function createPortOps(sw: LogicalSwitch, port: NewPort): Operation[] {
  const entry = addressEntry(port.mac, port.ips);
  return [
    wait('Logical_Switch', [eq('_uuid', sw.uuid)], ['ports'], '==', [{ ports: sw.ports }], 0),
    insert(
      'Logical_Switch_Port',
      { name: port.name, addresses: [entry], port_security: port.portSecurity ? [entry] : [], external_ids: port.externalIds },
      'new_port',
    ),
    mutate('Logical_Switch', [eq('_uuid', sw.uuid)], [mutation('ports', 'insert', [namedUuid('new_port')])]),
  ];
}

/** Unlinks the port from its switch; the NB garbage-collects the unreferenced port row. */
export function deletePortOps(switchUuid: Uuid, portUuid: Uuid): Operation[] {
  return [mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('ports', 'delete', [portUuid])])];
}
