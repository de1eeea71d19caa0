/** Logical switches in the NB: lookup by name, addresses in use, gateway. Reads come from the cache. */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { Row, Uuid } from '../ovsdb/notation.ts';
import { OwnerKeys } from './ids.ts';
import { rowUuid, stringMapOf, stringOf, stringsOf, uuidsOf } from '../lib/rows.ts';
import { parsePortAddresses } from './ipam.ts';
import { reservationsOf } from './claims.ts';
import { subnetContains, type Subnet } from '../lib/ip.ts';

export interface LogicalSwitch {
  uuid: Uuid;
  name: string;
  ports: Uuid[];
  otherConfig: ReadonlyMap<string, string>;
  externalIds: ReadonlyMap<string, string>;
}

function toSwitch(row: Row): LogicalSwitch {
  return {
    uuid: rowUuid(row),
    name: stringOf(row, 'name') ?? '',
    ports: uuidsOf(row, 'ports'),
    otherConfig: stringMapOf(row, 'other_config'),
    externalIds: stringMapOf(row, 'external_ids'),
  };
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
  let found: LogicalSwitch | undefined;
  for (const row of nb.cache.table('Logical_Switch').values()) {
    if (stringOf(row, 'name') !== name) continue;
    if (found !== undefined) throw new AmbiguousSwitchError(`more than one logical switch is named ${JSON.stringify(name)}`);
    found = toSwitch(row);
  }
  return found;
}

/** The switch whose `ports` holds `portUuid`. */
export function switchOfPort(nb: OvsdbClient, portUuid: Uuid): LogicalSwitch | undefined {
  for (const row of nb.cache.table('Logical_Switch').values()) {
    if (uuidsOf(row, 'ports').includes(portUuid)) return toSwitch(row);
  }
  return undefined;
}

/** Router port networks ("10.1.0.1/24") reached through router-type ports of the switch. */
function routerNetworks(nb: OvsdbClient, sw: LogicalSwitch): string[] {
  const lrpNames = new Set<string>();
  for (const uuid of sw.ports) {
    const lsp = nb.cache.row('Logical_Switch_Port', uuid);
    if (lsp === undefined || stringOf(lsp, 'type') !== 'router') continue;
    const peer = stringMapOf(lsp, 'options').get('router-port');
    if (peer !== undefined) lrpNames.add(peer);
  }
  if (lrpNames.size === 0) return [];
  const networks: string[] = [];
  for (const lrp of nb.cache.table('Logical_Router_Port').values()) {
    if (lrpNames.has(stringOf(lrp, 'name') ?? '')) networks.push(...stringsOf(lrp, 'networks'));
  }
  return networks;
}

/** Parsed once per row version: the cache replaces a row object whenever the row changes. */
const parsedRows = new WeakMap<Row, { macs: string[]; ips: string[] }>();

function portAddresses(lsp: Row): { macs: string[]; ips: string[] } {
  let parsed = parsedRows.get(lsp);
  if (parsed === undefined) {
    parsed = { macs: [], ips: [] };
    for (const entry of [...stringsOf(lsp, 'addresses'), ...stringsOf(lsp, 'dynamic_addresses')]) {
      const { mac, ips } = parsePortAddresses(entry);
      if (mac !== undefined) parsed.macs.push(mac);
      parsed.ips.push(...ips);
    }
    parsedRows.set(lsp, parsed);
  }
  return parsed;
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

/**
 * Every IP and MAC the switch's ports (static, dynamic, router peers) and the IPAMClaims
 * reserved on it use, with who uses it.
 */
export function addressesInUse(nb: OvsdbClient, sw: LogicalSwitch): { ips: Map<string, AddressUser>; macs: Map<string, AddressUser> } {
  const ips = new Map<string, AddressUser>();
  const macs = new Map<string, AddressUser>();
  for (const uuid of sw.ports) {
    const lsp = nb.cache.row('Logical_Switch_Port', uuid);
    if (lsp === undefined) continue;
    const used = portAddresses(lsp);
    for (const mac of used.macs) macs.set(mac, lsp);
    for (const ip of used.ips) ips.set(ip, lsp);
  }
  for (const network of routerNetworks(nb, sw)) ips.set(network.split('/')[0] ?? '', 'router');
  for (const r of reservationsOf(sw.externalIds)) {
    if (!macs.has(r.mac)) macs.set(r.mac, new ClaimReservation(r.claim));
    for (const ip of r.ips) if (!ips.has(ip)) ips.set(ip, new ClaimReservation(r.claim));
  }
  return { ips, macs };
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
