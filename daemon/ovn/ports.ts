/**
 * Logical switch ports in the NB. Writes are built as operation lists; the caller sends them as
 * one transaction. Every address (and the MAC) a port of ours takes is also a claim in its
 * external_ids, `ovn-multinet/addr:<ip>` = the switch's uuid; creating a port first `wait`s until
 * no port holds those claims, so an address chosen from the cache is committed only if no other
 * daemon took it meanwhile: optimistic concurrency per address, no duplicate address ever, and
 * daemons picking different addresses never get in each other's way. Ports other NB clients
 * make are respected from the cache.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { condition, eq, insert, mutate, mutation, wait, type Operation } from '../ovsdb/ops.ts';
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
/** The external_ids claim of one address or MAC on one switch. */
export function addressClaim(address: string): string {
  return `${CLAIM_PREFIX}${address}`;
}

const CLAIM_PREFIX = 'ovn-multinet/addr:';

/** The claim guards come first: a failing one (op index < guards) means "taken meanwhile". */
export function createPortOps(sw: LogicalSwitch, port: NewPort): { ops: Operation[]; guards: number } {
  const entry = addressEntry(port.mac, port.ips);
  const claims = [port.mac, ...port.ips].map((a) => [addressClaim(a), sw.uuid] as const);
  const guards = claims.map(([key, value]) =>
    wait('Logical_Switch_Port', [condition('external_ids', 'includes', new Map([[key, value]]))], ['name'], '==', [], 0),
  );
  const externalIds = new Map(port.externalIds);
  for (const [key, value] of claims) externalIds.set(key, value);
  return {
    guards: guards.length,
    ops: [
      ...guards,
      insert(
        'Logical_Switch_Port',
        { name: port.name, addresses: [entry], port_security: port.portSecurity ? [entry] : [], external_ids: externalIds },
        'new_port',
      ),
      mutate('Logical_Switch', [eq('_uuid', sw.uuid)], [mutation('ports', 'insert', [namedUuid('new_port')])]),
    ],
  };
}

/** Unlinks the port from its switch; the NB garbage-collects the unreferenced port row. */
export function deletePortOps(switchUuid: Uuid, portUuid: Uuid): Operation[] {
  return [mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('ports', 'delete', [portUuid])])];
}
