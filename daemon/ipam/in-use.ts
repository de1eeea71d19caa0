/**
 * Who uses each address on a logical switch: its ports (static, dynamic, router peers), the
 * IPAMClaims reserved on it, and guard keys left by ports that are gone. Each look-up goes
 * through the cache's indexes or the switch's guard keys: its cost does not grow with the
 * switch's ports.
 */
import { NbTable } from '../ovsdb/models/nb.ts';
import { OwnerKeys } from '../ovn/ids.ts';
import { portsByAddress } from '../ovn/indexes.ts';
import { connectedRouterPorts, inPortOrder, portsOn, type LogicalSwitch } from '../ovn/switches.ts';
import { parseIpPrefix } from '../lib/ip.ts';
import type { NbClient, PortRow } from '../ovn/nb.ts';
import { holderOf } from './guards.ts';
import { parsePortAddresses } from '../ovn/entries.ts';
import { guardedAddresses } from './usage.ts';

/**
 * Who uses an address: a logical switch port (described on demand), a router port, an
 * IPAMClaim's reservation while no port of the claim uses it, or the guard key of a port that
 * is gone.
 */
export type AddressUser = PortRow | 'router' | ClaimReservation | StaleGuard;

/** An address an IPAMClaim holds while no port of the claim uses it. */
export class ClaimReservation {
  readonly claim: string;
  constructor(claim: string) {
    this.claim = claim;
  }
}

/**
 * The guard key of a port no longer on the switch (another NB client deleted it): the address
 * stays taken until the reconciler frees the key (reconcile.ts).
 */
export class StaleGuard {
  readonly port: string;
  constructor(port: string) {
    this.port = port;
  }
}

/** Who uses each address of one kind on a switch. */
export interface AddressUsers {
  get(address: string): AddressUser | undefined;
  has(address: string): boolean;
}

/**
 * Every IP and MAC in use on the switch, with who uses it. `sw` must be current (just found).
 * A router's address or MAC comes first (a connected router port's `networks` and `mac`, or the
 * `addresses` of a router-type port), then a port's (the last in the switch's `ports` when
 * several hold it), then the holder of its guard key. A router's is never requestable either.
 */
export function addressesInUse(nb: NbClient, sw: LogicalSwitch): { ips: AddressUsers; macs: AddressUsers } {
  const routerPorts = connectedRouterPorts(nb, sw);
  const routerIps = new Set(routerPorts.flatMap((lrp) => lrp.networks.flatMap((network) => parseIpPrefix(network)?.address ?? [])));
  const routerMacs = new Set(routerPorts.map((lrp) => lrp.mac.toLowerCase()));
  const byAddress = portsByAddress(nb);
  const portUser = (address: string): PortRow | 'router' | undefined => {
    const holders = portsOn(nb, sw, byAddress.get(address));
    const last = holders.length <= 1 ? holders[0] : inPortOrder(sw, holders).at(-1);
    const row = last === undefined ? undefined : nb.cache.row(NbTable.Logical_Switch_Port, last);
    return row?.type === 'router' ? 'router' : row;
  };
  const guardUser = (address: string): AddressUser | undefined => {
    const holder = holderOf(sw, address);
    if (holder === undefined) return undefined;
    return 'claim' in holder ? new ClaimReservation(holder.claim) : new StaleGuard(holder.port);
  };
  const ips = (ip: string): AddressUser | undefined => (routerIps.has(ip) ? 'router' : (portUser(ip) ?? guardUser(ip)));
  const macs = (mac: string): AddressUser | undefined => (routerMacs.has(mac) ? 'router' : (portUser(mac) ?? guardUser(mac)));
  return {
    ips: { get: ips, has: (ip) => ips(ip) !== undefined },
    macs: { get: macs, has: (mac) => macs(mac) !== undefined },
  };
}

/**
 * Every IP in use on a switch whose ports are all in view, listed (repeats allowed) for its
 * usage (usage.ts): connected routers' addresses, every port's addresses and dynamic addresses,
 * and the addresses guard keys hold. The same users addressesInUse finds one address at a time.
 */
export function ipsUsedOn(nb: NbClient, sw: LogicalSwitch): string[] {
  const ips = connectedRouterPorts(nb, sw).flatMap((lrp) => lrp.networks.flatMap((network) => parseIpPrefix(network)?.address ?? []));
  for (const uuid of sw.ports) {
    const row = nb.cache.row(NbTable.Logical_Switch_Port, uuid);
    if (row === undefined) continue;
    for (const entry of [...row.addresses, row.dynamic_addresses ?? '']) ips.push(...parsePortAddresses(entry).ips);
  }
  ips.push(...guardedAddresses(sw.externalIds).used);
  return ips;
}

/** Whether the address user is the IPAMClaim `claim`: its reservation, or a port attached for it. */
export function usedByClaim(user: AddressUser, claim: string): boolean {
  if (user === 'router' || user instanceof StaleGuard) return false;
  if (user instanceof ClaimReservation) return user.claim === claim;
  return user.external_ids.get(OwnerKeys.ipamClaim) === claim;
}

/** "logical switch port NAME (pod NS/NAME, container ID)", as far as the port's owner ids tell. */
export function describeUser(user: AddressUser): string {
  if (user === 'router') return 'a logical router port';
  if (user instanceof ClaimReservation) return `IPAMClaim ${user.claim} (reserved)`;
  if (user instanceof StaleGuard) return `logical switch port ${user.port}, which is gone (the reconciler frees its addresses)`;
  return portOwner(user);
}

function portOwner(lsp: PortRow): string {
  const ids = lsp.external_ids;
  const pod = ids.get(OwnerKeys.podName) === undefined ? '' : `pod ${ids.get(OwnerKeys.podNamespace) ?? ''}/${ids.get(OwnerKeys.podName) ?? ''}, `;
  const container = ids.get(OwnerKeys.containerId);
  const detail = container === undefined ? '' : ` (${pod}container ${container})`;
  return `logical switch port ${lsp.name}${detail}`;
}
