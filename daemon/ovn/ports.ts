/**
 * Logical switch ports in the NB: look-up through the cache's name index, and the operations
 * that insert a port into a switch and unlink it. Which addresses a port gets, and the guards
 * that commit them, are daemon/ipam/'s.
 */
import { eq, mutation, type Operation } from '../ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { OwnerKeys, RecordKeys, roleOf } from './ids.ts';
import { attachmentRef, portsByAttachment, portsByName } from './indexes.ts';
import { parseHeldIps } from './entries.ts';
import { type NbClient, type PortRow, nbOps } from './nb.ts';
import { dropQosMutation } from './qos.ts';

export interface LogicalPort {
  uuid: Uuid;
  name: string;
  addresses: string[];
  portSecurity: string[];
  externalIds: ReadonlyMap<string, string>;
  /** Written only for IPAM-only records (false); absent means OVN's default, enabled. */
  enabled?: boolean;
  /** Its `options` (requested-chassis, activation-strategy); empty on a port this daemon makes. */
  options?: ReadonlyMap<string, string>;
}

function toPort(row: PortRow): LogicalPort {
  return {
    uuid: row._uuid,
    name: row.name,
    addresses: [...row.addresses],
    portSecurity: [...row.port_security],
    externalIds: row.external_ids,
    options: row.options,
  };
}

/** The port named `name` (unique in the NB schema), from the cache's name index. */
export function findPort(nb: NbClient, name: string): LogicalPort | undefined {
  const [row] = portsByName(nb).rows(name);
  return row === undefined ? undefined : toPort(row);
}

/**
 * The port of the attachment (container ID + ifname), from the cache's attachment index, and
 * whether the attachment is its owner or (sharing an IPAMClaim's port during a live migration)
 * its target.
 */
export function findAttachmentPort(nb: NbClient, containerId: string, ifName: string): { port: LogicalPort; role: 'owner' | 'target' } | undefined {
  for (const row of portsByAttachment(nb).rows(attachmentRef(containerId, ifName))) {
    const port = toPort(row);
    const role = roleOf(port.externalIds, containerId, ifName);
    if (role !== undefined) return { port, role };
  }
  return undefined;
}

/** The port's "MAC IP..." entry. */
export function portEntry(port: LogicalPort): string {
  return port.addresses[0] ?? '';
}

/**
 * The IPs an IPAM-only record holds (ids.ts OwnerKeys.ipamOnly), or undefined when the port is
 * an ordinary one (its addresses are in `addresses`).
 */
export function ipamOnlyIps(externalIds: ReadonlyMap<string, string>): string[] | undefined {
  const value = externalIds.get(OwnerKeys.ipamOnly);
  return value === undefined ? undefined : parseHeldIps(value);
}

/**
 * What the node records of the port on its br-int Interface (ids.ts RecordKeys), and the
 * IPAMClaim it is attached for, if any.
 */
export function portRecord(port: LogicalPort, switchName: string): Map<string, string> {
  const record = new Map<string, string>([
    [RecordKeys.logicalSwitch, switchName],
    [RecordKeys.addresses, portEntry(port)],
    [RecordKeys.portSecurity, String(port.portSecurity.length > 0)],
  ]);
  const claim = port.externalIds.get(OwnerKeys.ipamClaim);
  if (claim !== undefined) record.set(OwnerKeys.ipamClaim, claim);
  return record;
}

/** Every key portRecord may write: an older record's, replaced by a new one. */
export const RECORD_KEYS: readonly string[] = [...Object.values(RecordKeys), OwnerKeys.ipamClaim];

/** Whether an Interface's external_ids hold exactly `record` among the RECORD_KEYS (nothing to write). */
export function holdsRecord(ids: ReadonlyMap<string, string>, record: ReadonlyMap<string, string>): boolean {
  return RECORD_KEYS.every((key) => ids.get(key) === record.get(key));
}

/** A port as an Interface's record describes it (portRecord), or undefined when it has none. */
export interface RecordedPort {
  switchName: string;
  entry: string;
  portSecurity: boolean;
  ipamClaim: string | undefined;
}

export function recordedPort(ids: ReadonlyMap<string, string>): RecordedPort | undefined {
  const switchName = ids.get(RecordKeys.logicalSwitch);
  const entry = ids.get(RecordKeys.addresses);
  if (switchName === undefined || entry === undefined || entry === '') return undefined;
  return { switchName, entry, portSecurity: ids.get(RecordKeys.portSecurity) !== 'false', ipamClaim: ids.get(OwnerKeys.ipamClaim) };
}

/** The named uuid of the new port within its transaction. */
const NEW_PORT = 'new_port';

/**
 * Inserts the port and links it into the switch: the insert comes first (its result has the
 * port's uuid). `dhcp`: the DHCP_Options rows OVN answers the port's DHCP requests with.
 */
export function insertPortOps(switchUuid: Uuid, row: Omit<LogicalPort, 'uuid'>, dhcp: { v4?: Uuid; v6?: Uuid } = {}): Operation[] {
  const options = { ...(dhcp.v4 === undefined ? {} : { dhcpv4_options: dhcp.v4 }), ...(dhcp.v6 === undefined ? {} : { dhcpv6_options: dhcp.v6 }) };
  const enabled = row.enabled === undefined ? {} : { enabled: row.enabled };
  return [
    nbOps.insert(NbTable.Logical_Switch_Port, { name: row.name, addresses: row.addresses, port_security: row.portSecurity, external_ids: row.externalIds, ...enabled, ...options }, NEW_PORT),
    nbOps.mutate(NbTable.Logical_Switch, [eq('_uuid', switchUuid)], [mutation('ports', 'insert', [namedUuid(NEW_PORT)])]),
  ];
}

/**
 * Unlinks the port and its bandwidth limits (qos.ts) from its switch; the NB garbage-collects the
 * unreferenced port and QoS rows.
 */
export function deletePortOps(switchUuid: Uuid, port: Pick<LogicalPort, 'uuid' | 'name'>): Operation[] {
  return [nbOps.mutate(NbTable.Logical_Switch, [eq('_uuid', switchUuid)], [mutation('ports', 'delete', [port.uuid]), dropQosMutation(port.name)])];
}
