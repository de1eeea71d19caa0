/**
 * Logical switch ports in the NB. Writes are built as operation lists; the caller sends them as
 * one transaction. Every address (and the MAC) a port of ours takes is also a claim in its
 * external_ids, `ovn-multinet/addr:<ip>` = the switch's uuid; creating a port first `wait`s until
 * no port holds those claims, so an address chosen from the cache is committed only if no other
 * daemon took it meanwhile: optimistic concurrency per address, no duplicate address ever, and
 * daemons picking different addresses never get in each other's way. Ports other NB clients
 * make are respected from the cache. Addresses an IPAMClaim holds are guarded the same way, by
 * their reservation on the switch (claims.ts).
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { condition, eq, insert, mutate, mutation, update, wait, type Operation } from '../ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../ovsdb/notation.ts';
import { rowUuid, stringMapOf, stringOf, stringsOf } from '../lib/rows.ts';
import { OwnerKeys } from './ids.ts';
import { inPortOrder, type LogicalSwitch } from './switches.ts';
import { portsByClaim, portsByName, switchesByPort } from './indexes.ts';
import { firstReservationGuard, reservationGuard, reservedGuard, reserveOps, type Reservation } from './claims.ts';

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

/** The port named `name` (unique in the NB schema), from the cache's name index. */
export function findPort(nb: OvsdbClient, name: string): LogicalPort | undefined {
  const [row] = portsByName(nb).rows(name);
  if (row === undefined) return undefined;
  return {
    uuid: rowUuid(row),
    name,
    addresses: stringsOf(row, 'addresses'),
    portSecurity: stringsOf(row, 'port_security'),
    externalIds: stringMapOf(row, 'external_ids'),
  };
}

/**
 * The port's "MAC IP..." entry: its `addresses`, or for a standby port of an IPAMClaim the entry
 * it gets once promoted.
 */
export function portEntry(port: LogicalPort): string {
  return port.addresses[0] ?? port.externalIds.get(OwnerKeys.claimStandby) ?? '';
}

/** "MAC IP IP": the form of `addresses` and `port_security` entries. */
export function addressEntry(mac: string, ips: readonly string[]): string {
  return [mac, ...ips].join(' ');
}

/** The external_ids claim of one address or MAC on one switch. */
export function addressClaim(address: string): string {
  return `${CLAIM_PREFIX}${address}`;
}

const CLAIM_PREFIX = 'ovn-multinet/addr:';

/**
 * How the port's addresses are guarded: ordinary ones must be free of other ports' claims and of
 * IPAMClaim reservations; the first port of an IPAMClaim also records its reservation (and
 * commits only if no other reservation appeared meanwhile); a later port of the claim only needs
 * the reservation to be unchanged, since the addresses are the claim's. While another port of the
 * claim is active (`activePort`: a live migration's source), the new one is a standby: port
 * security as usual, but no `addresses` (so no L2 lookup flow: unicast keeps going to the running
 * VM) until DEL of the active port promotes it (promoteOps); its creation commits only while the
 * active port exists, so it is never left without one to promote it.
 */
export type AddressPlan =
  | { kind: 'plain' }
  | { kind: 'claim-first'; reservation: Reservation }
  | { kind: 'claim-existing'; reservation: Reservation; activePort: string | undefined };

/** The guards come first: a failing one (op index < guards) means "taken meanwhile". */
export function createPortOps(sw: LogicalSwitch, port: NewPort, plan: AddressPlan = { kind: 'plain' }): { ops: Operation[]; guards: number; row: Omit<LogicalPort, 'uuid'> } {
  const entry = addressEntry(port.mac, port.ips);
  const addresses = [port.mac, ...port.ips];
  const claims = addresses.map((a) => [addressClaim(a), sw.uuid] as const);
  const portGuards = claims.map(([key, value]) =>
    wait('Logical_Switch_Port', [condition('external_ids', 'includes', new Map([[key, value]]))], ['name'], '==', [], 0),
  );
  let guards: Operation[];
  let after: Operation[] = [];
  switch (plan.kind) {
    case 'plain':
      guards = [...portGuards, reservedGuard(sw, addresses)];
      break;
    case 'claim-first':
      guards = [...portGuards, firstReservationGuard(sw)];
      after = reserveOps(sw.uuid, plan.reservation);
      break;
    case 'claim-existing':
      guards = [reservationGuard(sw, plan.reservation)];
      if (plan.activePort !== undefined) guards.push(wait('Logical_Switch_Port', [eq('name', plan.activePort)], ['name'], '==', [{ name: plan.activePort }], 0));
      break;
  }
  const standby = plan.kind === 'claim-existing' && plan.activePort !== undefined;
  const externalIds = new Map(port.externalIds);
  for (const [key, value] of claims) externalIds.set(key, value);
  if (standby) externalIds.set(OwnerKeys.claimStandby, entry);
  const row = { name: port.name, addresses: standby ? [] : [entry], portSecurity: port.portSecurity ? [entry] : [], externalIds };
  return {
    guards: guards.length,
    row,
    ops: [
      ...guards,
      insert('Logical_Switch_Port', { name: row.name, addresses: row.addresses, port_security: row.portSecurity, external_ids: row.externalIds }, 'new_port'),
      mutate('Logical_Switch', [eq('_uuid', sw.uuid)], [mutation('ports', 'insert', [namedUuid('new_port')])]),
      ...after,
    ],
  };
}

/**
 * The standby ports of IPAMClaim `claim` on the switch (claimStandby set), from the cache's
 * claim and port -> switch indexes, in the order of the switch's `ports`. `sw` must be current.
 */
export function standbyPorts(nb: OvsdbClient, sw: LogicalSwitch, claim: string): Array<{ uuid: Uuid; name: string; entry: string }> {
  const onSwitch = switchesByPort(nb);
  const ofClaim = [...portsByClaim(nb).get(claim)].filter((uuid) => onSwitch.has(uuid, sw.uuid));
  const found: Array<{ uuid: Uuid; name: string; entry: string }> = [];
  for (const uuid of inPortOrder(sw, ofClaim)) {
    const row = nb.cache.row('Logical_Switch_Port', uuid);
    if (row === undefined) continue;
    const ids = stringMapOf(row, 'external_ids');
    const entry = ids.get(OwnerKeys.claimStandby);
    if (entry !== undefined && ids.get(OwnerKeys.ipamClaim) === claim) found.push({ uuid, name: stringOf(row, 'name') ?? '', entry });
  }
  return found;
}

/**
 * Deleting the active port of a claim: commits only if the claim's standby ports are exactly the
 * ones the caller saw (`standby`), and promotes the first of them (its entry into `addresses`).
 */
export function handOverOps(claim: string, entry: string, standby: ReadonlyArray<{ uuid: Uuid; name: string }>): { ops: Operation[]; guards: number } {
  const guard = wait(
    'Logical_Switch_Port',
    [condition('external_ids', 'includes', new Map([[OwnerKeys.ipamClaim, claim], [OwnerKeys.claimStandby, entry]]))],
    ['name'],
    '==',
    standby.map((p) => ({ name: p.name })),
    0,
  );
  const next = standby[0];
  const promote =
    next === undefined
      ? []
      : [
          update('Logical_Switch_Port', [eq('_uuid', next.uuid)], { addresses: [entry] }),
          mutate('Logical_Switch_Port', [eq('_uuid', next.uuid)], [mutation('external_ids', 'delete', [OwnerKeys.claimStandby])]),
        ];
  return { ops: [guard, ...promote], guards: 1 };
}

/** Unlinks the port from its switch; the NB garbage-collects the unreferenced port row. */
export function deletePortOps(switchUuid: Uuid, portUuid: Uuid): Operation[] {
  return [mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('ports', 'delete', [portUuid])])];
}
