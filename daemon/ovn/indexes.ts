/**
 * The NB indexes the daemon's look-ups go through (the cache keeps them current, see
 * ovsdb/index.ts), so that finding a switch, a port, the switch of a port or who uses an address
 * costs the same on a switch of 20,000 ports as on an empty one.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import { columnKeys, type CacheIndex, type KeysOf } from '../ovsdb/index.ts';
import { NbTable, type LogicalSwitchPort } from '../ovsdb/models/nb.ts';
import { parseHeldIps, parsePortAddresses } from './entries.ts';
import { OwnerKeys, ScopeKeys, TargetKeys } from './ids.ts';
import type { NbClient, PortRow, RouterPortRow, SwitchRow } from './nb.ts';

/** What the external_ids indexes read of a port: a client with fewer columns (release-node's) has as much. */
type PortIds = Pick<LogicalSwitchPort, 'external_ids'>;

const nameKeys = columnKeys<{ readonly name: string }>('name');

/** Logical switches by name (names are not unique in the NB schema); of any client that monitors their names. */
export function switchesByName<R extends { readonly name: string }>(nb: OvsdbClient<{ readonly Logical_Switch: R }>): CacheIndex<R> {
  return nb.cache.index(NbTable.Logical_Switch, 'name', nameKeys);
}

/** Logical switches by the uuids of their ports: port -> its switch. */
export function switchesByPort(nb: NbClient): CacheIndex<SwitchRow> {
  return nb.cache.index(NbTable.Logical_Switch, 'ports', columnKeys('ports'));
}

/** Logical switch ports by name (unique in the NB schema). */
export function portsByName(nb: NbClient): CacheIndex<PortRow> {
  return nb.cache.index(NbTable.Logical_Switch_Port, 'name', nameKeys);
}

/** Logical switch ports by type, ordinary ports ("") left out: "router" gives the router ports. */
export function portsByType(nb: NbClient): CacheIndex<PortRow> {
  return nb.cache.index(NbTable.Logical_Switch_Port, 'type', typeKeys);
}

/**
 * Logical switch ports by every IP and MAC (lowercase) of their `addresses` and
 * `dynamic_addresses`. One index for both: the two never look alike (a MAC's six groups are no
 * IPv6 address), and each entry is parsed once.
 */
export function portsByAddress(nb: NbClient): CacheIndex<PortRow> {
  return nb.cache.index(NbTable.Logical_Switch_Port, 'address', addressKeys);
}

/** Logical switch ports by the IPAMClaim (namespace/name) they were attached for. */
export function portsByClaim(nb: NbClient): CacheIndex<PortRow> {
  return nb.cache.index(NbTable.Logical_Switch_Port, 'ipam-claim', claimKeys);
}

/**
 * Logical switch ports by the nodes with an attachment of them: the owner's (`ovn-multinet/node`)
 * and, during a live migration, the target's (`ovn-multinet/migration-target/node`).
 */
export function portsByNode(nb: NbClient): CacheIndex<PortRow> {
  return nb.cache.index(NbTable.Logical_Switch_Port, 'node', nodeKeys);
}

/**
 * Logical switch ports by the attachments (attachmentRef: container ID + ifname) that have them:
 * the owner, and a live migration's target, which shares the port of its IPAMClaim.
 */
export function portsByAttachment(nb: NbClient): CacheIndex<PortRow> {
  return nb.cache.index(NbTable.Logical_Switch_Port, 'attachment', attachmentKeys);
}

/** How portsByAttachment names an attachment. */
export function attachmentRef(containerId: string, ifName: string): string {
  return `${containerId}/${ifName}`;
}

/** Logical switch ports ovn-multinet made, by their switch key (`ovn-multinet/switch`, a switch's uuid). */
export function portsBySwitchKey(nb: NbClient): CacheIndex<PortRow> {
  return nb.cache.index(NbTable.Logical_Switch_Port, 'switch-key', switchKeys);
}

/** Logical router ports by name (unique in the NB schema). */
export function routerPortsByName(nb: NbClient): CacheIndex<RouterPortRow> {
  return nb.cache.index(NbTable.Logical_Router_Port, 'name', nameKeys);
}

/**
 * Registers every index above, so that they are built with the rows of the monitor reply (the
 * daemon's start) rather than on the first ADD that asks.
 */
export function indexNb(nb: NbClient): void {
  for (const index of [switchesByName, switchesByPort, portsByName, portsByType, portsByAddress, portsByClaim, portsByNode, portsByAttachment, portsBySwitchKey, routerPortsByName]) index(nb);
}

const typeKeys: KeysOf<PortRow> = (lsp) => (lsp.type === '' ? [] : [lsp.type]);

/**
 * The MACs and IPs a port's entries use ("MAC IP...", "dynamic", "router", "unknown"), and the
 * IPs an IPAM-only record of ours holds (OwnerKeys.ipamOnly: it has no `addresses`).
 */
export function portAddresses(lsp: PortRow): { macs: string[]; ips: string[] } {
  const macs: string[] = [];
  const [held] = ipamOnlyKeys(lsp);
  const ips = held === undefined ? [] : parseHeldIps(held);
  const entries = lsp.dynamic_addresses === undefined ? lsp.addresses : [...lsp.addresses, lsp.dynamic_addresses];
  for (const entry of entries) {
    const parsed = parsePortAddresses(entry);
    if (parsed.mac !== undefined) macs.push(parsed.mac);
    ips.push(...parsed.ips);
  }
  return { macs, ips };
}

const addressKeys: KeysOf<PortRow> = (lsp) => {
  const { macs, ips } = portAddresses(lsp);
  return macs.length === 0 ? ips : ips.length === 0 ? macs : [...macs, ...ips];
};

/** The value of one external_ids key, when the row has it. */
function externalIdKeys(key: string): KeysOf<PortIds> {
  return (row) => {
    const value = row.external_ids.get(key);
    return value === undefined ? [] : [value];
  };
}

// One function per index: the cache refuses an index name registered with another.
const claimKeys = externalIdKeys(OwnerKeys.ipamClaim);
const ipamOnlyKeys = externalIdKeys(OwnerKeys.ipamOnly);
const ownerNode = externalIdKeys(OwnerKeys.node);
const targetNode = externalIdKeys(TargetKeys.node);
const nodeKeys: KeysOf<PortIds> = (row) => [...ownerNode(row), ...targetNode(row)];
const attachmentKeys: KeysOf<PortIds> = (row) => {
  const ids = row.external_ids;
  const refs: string[] = [];
  for (const [cid, ifn] of [[OwnerKeys.containerId, OwnerKeys.ifName], [TargetKeys.containerId, TargetKeys.ifName]] as const) {
    const containerId = ids.get(cid);
    const ifName = ids.get(ifn);
    if (containerId !== undefined && ifName !== undefined) refs.push(attachmentRef(containerId, ifName));
  }
  return refs;
};
const switchKeys = externalIdKeys(ScopeKeys.switch);
