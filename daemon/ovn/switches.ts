/** Logical switches in the NB: lookup by name, the switch of a port, router networks, gateway. Reads come from the cache, through its indexes. */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { NbClient, RouterPortRow, SwitchRow } from './nb.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { portsByType, routerPortsByName, switchesByName, switchesByPort } from './indexes.ts';
import { parseIpPrefix, subnetContains, type Subnet } from '../lib/ip.ts';
import { AmbiguousSwitchError } from '../errors.ts';

/** A switch as the cache holds it now; shared between readers, never changed. */
export interface LogicalSwitch {
  readonly uuid: Uuid;
  readonly name: string;
  readonly ports: readonly Uuid[];
  readonly otherConfig: ReadonlyMap<string, string>;
  readonly externalIds: ReadonlyMap<string, string>;
}

/** Made once per row version: the cache replaces a row object whenever the row changes. */
const switches = new WeakMap<SwitchRow, LogicalSwitch>();

function toSwitch(row: SwitchRow): LogicalSwitch {
  let sw = switches.get(row);
  if (sw === undefined) {
    // The row's own list and maps, not copies of 20,000 entries: a switch's external_ids holds a
    // guard key per address in use.
    sw = { uuid: row._uuid, name: row.name, ports: row.ports, otherConfig: row.other_config, externalIds: row.external_ids };
    switches.set(row, sw);
  }
  return sw;
}

/** The switch named `name`, undefined when none. Names are not unique in the NB schema: two is an error. */
export function findSwitch(nb: NbClient, name: string): LogicalSwitch | undefined {
  const row = switchNamed(nb, name);
  return row === undefined ? undefined : toSwitch(row);
}

/** The row of the switch named `name`, of a client monitoring at least its name. */
export function switchNamed<R extends { readonly name: string }>(nb: OvsdbClient<{ readonly Logical_Switch: R }>, name: string): R | undefined {
  const byName = switchesByName(nb);
  if (byName.count(name) > 1) throw new AmbiguousSwitchError(`more than one logical switch is named ${JSON.stringify(name)}`);
  return byName.rows(name)[0];
}

/** The switch with this uuid, as the cache holds it now. */
export function switchByUuid(nb: NbClient, uuid: Uuid): LogicalSwitch | undefined {
  const row = nb.cache.row(NbTable.Logical_Switch, uuid);
  return row === undefined ? undefined : toSwitch(row);
}

/** The switch whose `ports` holds `portUuid` (the first a scan meets, should two hold it). */
export function switchOfPort(nb: NbClient, portUuid: Uuid): LogicalSwitch | undefined {
  const [row] = switchesByPort(nb).rows(portUuid);
  return row === undefined ? undefined : toSwitch(row);
}

/**
 * Of `uuids`, the ones that are ports of `sw`, which must be current (just found): the cache's
 * port -> switch index answers, not the switch's list.
 */
export function portsOn(nb: NbClient, sw: LogicalSwitch, uuids: Iterable<Uuid>): Uuid[] {
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

/** The logical router ports the switch's router-type ports point at (the routers it connects to). */
export function connectedRouterPorts(nb: NbClient, sw: LogicalSwitch): RouterPortRow[] {
  const routers = portsByType(nb).get('router');
  // Whichever is shorter: the switch's ports, or every router-type port there is.
  const candidates = routers.size < sw.ports.length ? portsOn(nb, sw, routers) : sw.ports;
  const lrpNames = new Set<string>();
  for (const uuid of candidates) {
    const lsp = nb.cache.row(NbTable.Logical_Switch_Port, uuid);
    if (lsp === undefined || lsp.type !== 'router') continue;
    const peer = lsp.options.get('router-port');
    if (peer !== undefined) lrpNames.add(peer);
  }
  if (lrpNames.size === 0) return [];
  const byName = routerPortsByName(nb);
  const lrps = new Set<Uuid>();
  for (const name of lrpNames) for (const uuid of byName.get(name)) lrps.add(uuid);
  return nb.cache.rowsOf(NbTable.Logical_Router_Port, lrps);
}

/** Router port networks ("10.1.0.1/24") reached through router-type ports of the switch. */
function routerNetworks(nb: NbClient, sw: LogicalSwitch): string[] {
  return connectedRouterPorts(nb, sw).flatMap((lrp) => lrp.networks);
}

/** The switch's gateway in `subnet`: a connected router port's address there, if any. */
export function switchGateway(nb: NbClient, sw: LogicalSwitch, subnet: Subnet): string | undefined {
  for (const network of routerNetworks(nb, sw)) {
    const address = parseIpPrefix(network)?.address;
    if (address !== undefined && subnetContains(subnet, address)) return address;
  }
  return undefined;
}
