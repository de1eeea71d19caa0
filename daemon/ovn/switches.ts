/** Logical switches in the NB: lookup by name, addresses in use, gateway. Reads come from the cache, through its indexes. */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { Row, Uuid } from '../ovsdb/notation.ts';
import { OwnerKeys } from './ids.ts';
import { rowUuid, stringMapOf, stringOf, stringsOf, uuidsOf } from '../lib/rows.ts';
import { reservationsOf } from './claims.ts';
import { portsByAddress, portsByType, routerPortsByName, switchesByName, switchesByPort } from './indexes.ts';
import { subnetContains, type Subnet } from '../lib/ip.ts';

/** A switch as the cache holds it now; shared between readers, never changed. */
export interface LogicalSwitch {
  readonly uuid: Uuid;
  readonly name: string;
  readonly ports: readonly Uuid[];
  readonly otherConfig: ReadonlyMap<string, string>;
  readonly externalIds: ReadonlyMap<string, string>;
}

/** Made once per row version: the cache replaces a row object whenever the row changes. */
const switches = new WeakMap<Row, LogicalSwitch>();
/** Maps made once per column value: a change to `ports` leaves `external_ids` the same object. */
const stringMaps = new WeakMap<object, ReadonlyMap<string, string>>();

function toSwitch(row: Row): LogicalSwitch {
  let sw = switches.get(row);
  if (sw === undefined) {
    const ports = row['ports'];
    sw = {
      uuid: rowUuid(row),
      name: stringOf(row, 'name') ?? '',
      // The row's own list (the cache decoded it as uuids), not a copy of 20,000 of them.
      ports: Array.isArray(ports) ? (ports as readonly Uuid[]) : uuidsOf(row, 'ports'),
      otherConfig: sharedStringMap(row, 'other_config'),
      externalIds: sharedStringMap(row, 'external_ids'),
    };
    switches.set(row, sw);
  }
  return sw;
}

function sharedStringMap(row: Row, column: string): ReadonlyMap<string, string> {
  const value = row[column];
  if (typeof value !== 'object' || Array.isArray(value)) return stringMapOf(row, column);
  let map = stringMaps.get(value);
  if (map === undefined) {
    map = stringMapOf(row, column);
    stringMaps.set(value, map);
  }
  return map;
}

/** Tables and columns the daemon monitors in the NB. */
export const NB_MONITOR = {
  Logical_Switch: ['name', 'ports', 'other_config', 'external_ids'],
  Logical_Switch_Port: ['name', 'type', 'addresses', 'dynamic_addresses', 'port_security', 'options', 'external_ids'],
  Logical_Router_Port: ['name', 'networks'],
} as const;

export class AmbiguousSwitchError extends Error {
  override name = 'AmbiguousSwitchError';
}

/** The switch named `name`, undefined when none. Names are not unique in the NB schema: two is an error. */
export function findSwitch(nb: OvsdbClient, name: string): LogicalSwitch | undefined {
  const byName = switchesByName(nb);
  if (byName.count(name) > 1) throw new AmbiguousSwitchError(`more than one logical switch is named ${JSON.stringify(name)}`);
  const [row] = byName.rows(name);
  return row === undefined ? undefined : toSwitch(row);
}

/** The switch whose `ports` holds `portUuid` (the first a scan meets, should two hold it). */
export function switchOfPort(nb: OvsdbClient, portUuid: Uuid): LogicalSwitch | undefined {
  const [row] = switchesByPort(nb).rows(portUuid);
  return row === undefined ? undefined : toSwitch(row);
}

/**
 * Of `uuids`, the ones that are ports of `sw`, which must be current (just found): the cache's
 * port -> switch index answers, not the switch's list.
 */
function portsOn(nb: OvsdbClient, sw: LogicalSwitch, uuids: Iterable<Uuid>): Uuid[] {
  const onSwitch = switchesByPort(nb);
  const found: Uuid[] = [];
  for (const uuid of uuids) if (onSwitch.has(uuid, sw.uuid)) found.push(uuid);
  return found;
}

/** `uuids` (ports of `sw`) in the order of the switch's `ports`. */
export function inPortOrder(sw: LogicalSwitch, uuids: readonly Uuid[]): Uuid[] {
  if (uuids.length <= 1) return [...uuids];
  const position = new Map(uuids.map((uuid) => [uuid, sw.ports.indexOf(uuid)]));
  return [...uuids].sort((a, b) => (position.get(a) ?? -1) - (position.get(b) ?? -1));
}

/** Router port networks ("10.1.0.1/24") reached through router-type ports of the switch. */
function routerNetworks(nb: OvsdbClient, sw: LogicalSwitch): string[] {
  const routers = portsByType(nb).get('router');
  // Whichever is shorter: the switch's ports, or every router-type port there is.
  const candidates = routers.size < sw.ports.length ? portsOn(nb, sw, routers) : sw.ports;
  const lrpNames = new Set<string>();
  for (const uuid of candidates) {
    const lsp = nb.cache.row('Logical_Switch_Port', uuid);
    if (lsp === undefined || stringOf(lsp, 'type') !== 'router') continue;
    const peer = stringMapOf(lsp, 'options').get('router-port');
    if (peer !== undefined) lrpNames.add(peer);
  }
  if (lrpNames.size === 0) return [];
  const byName = routerPortsByName(nb);
  const lrps = new Set<Uuid>();
  for (const name of lrpNames) for (const uuid of byName.get(name)) lrps.add(uuid);
  const networks: string[] = [];
  for (const lrp of nb.cache.rowsOf('Logical_Router_Port', lrps)) networks.push(...stringsOf(lrp, 'networks'));
  return networks;
}

/**
 * Who uses an address: a logical switch port (described on demand), a router port, or an
 * IPAMClaim's reservation (namespace/name) while no port of the claim holds it.
 */
export type AddressUser = Row | 'router' | ClaimReservation;

/** An address an IPAMClaim holds while no port of the claim uses it. */
export class ClaimReservation {
  readonly claim: string;
  constructor(claim: string) {
    this.claim = claim;
  }
}

/** Who uses each address of one kind on a switch. */
export interface AddressUsers {
  get(address: string): AddressUser | undefined;
  has(address: string): boolean;
}

interface Reserved {
  ips: Map<string, ClaimReservation>;
  macs: Map<string, ClaimReservation>;
}

/** Made once per external_ids value (sharedStringMap), so not on every allocation. */
const reservedOn = new WeakMap<ReadonlyMap<string, string>, Reserved>();

/** The addresses IPAMClaims reserve on the switch; the first reservation of an address wins. */
function reserved(externalIds: ReadonlyMap<string, string>): Reserved {
  let found = reservedOn.get(externalIds);
  if (found === undefined) {
    found = { ips: new Map(), macs: new Map() };
    for (const r of reservationsOf(externalIds)) {
      const user = new ClaimReservation(r.claim);
      if (!found.macs.has(r.mac)) found.macs.set(r.mac, user);
      for (const ip of r.ips) if (!found.ips.has(ip)) found.ips.set(ip, user);
    }
    reservedOn.set(externalIds, found);
  }
  return found;
}

/**
 * Every IP and MAC the switch's ports (static, dynamic, router peers) and the IPAMClaims
 * reserved on it use, with who uses it. `sw` must be current (just found). A router port's
 * address comes first, then a port's (the last in the switch's `ports` when several hold it),
 * then a reservation. Each look-up goes through the cache's indexes: its cost does not grow
 * with the switch's ports.
 */
export function addressesInUse(nb: OvsdbClient, sw: LogicalSwitch): { ips: AddressUsers; macs: AddressUsers } {
  const routerIps = new Set(routerNetworks(nb, sw).map((network) => network.split('/')[0] ?? ''));
  const claims = reserved(sw.externalIds);
  const byAddress = portsByAddress(nb);
  const portUser = (address: string): Row | undefined => {
    const holders = portsOn(nb, sw, byAddress.get(address));
    const last = holders.length <= 1 ? holders[0] : inPortOrder(sw, holders).at(-1);
    return last === undefined ? undefined : nb.cache.row('Logical_Switch_Port', last);
  };
  const ips = (ip: string): AddressUser | undefined => (routerIps.has(ip) ? 'router' : (portUser(ip) ?? claims.ips.get(ip)));
  const macs = (mac: string): AddressUser | undefined => portUser(mac) ?? claims.macs.get(mac);
  return {
    ips: { get: ips, has: (ip) => ips(ip) !== undefined },
    macs: { get: macs, has: (mac) => macs(mac) !== undefined },
  };
}

/** Whether the address user is the IPAMClaim `claim`: its reservation, or a port attached for it. */
export function usedByClaim(user: AddressUser, claim: string): boolean {
  if (user === 'router') return false;
  if (user instanceof ClaimReservation) return user.claim === claim;
  return stringMapOf(user, 'external_ids').get(OwnerKeys.ipamClaim) === claim;
}

/** "logical switch port NAME (pod NS/NAME, container ID)", as far as the port's owner ids tell. */
export function describeUser(user: AddressUser): string {
  if (user === 'router') return 'a logical router port';
  if (user instanceof ClaimReservation) return `IPAMClaim ${user.claim} (reserved)`;
  return portOwner(user);
}

function portOwner(lsp: Row): string {
  const ids = stringMapOf(lsp, 'external_ids');
  const pod = ids.get(OwnerKeys.podName) === undefined ? '' : `pod ${ids.get(OwnerKeys.podNamespace) ?? ''}/${ids.get(OwnerKeys.podName) ?? ''}, `;
  const container = ids.get(OwnerKeys.containerId);
  const detail = container === undefined ? '' : ` (${pod}container ${container})`;
  return `logical switch port ${stringOf(lsp, 'name') ?? '?'}${detail}`;
}

/** The switch's gateway in `subnet`: a connected router port's address there, if any. */
export function switchGateway(nb: OvsdbClient, sw: LogicalSwitch, subnet: Subnet): string | undefined {
  for (const network of routerNetworks(nb, sw)) {
    const address = network.split('/')[0] ?? '';
    if (subnetContains(subnet, address)) return address;
  }
  return undefined;
}
