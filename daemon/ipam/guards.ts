/**
 * Per-address guards: how a daemon commits an address only if no other writer took it meanwhile.
 *
 * Every IP and MAC that a port of ours or an IPAMClaim holds on a logical switch is recorded in
 * the switch's external_ids, `ovn-multinet/addr:<address>` = its holder (`port:<port name>` or
 * `ipam-claim:<namespace>/<name>`), by the transaction that creates the port or the reservation.
 * That transaction first inserts the keys and then `wait`s until the switch holds them with its
 * own holder. A map `insert` leaves a key that is already there unchanged, so an address another
 * daemon took meanwhile fails the `wait`: the daemon's cache catches up and it chooses again
 * (optimistic concurrency per address; daemons choosing different addresses never get in each
 * other's way, and no address is ever committed twice).
 *
 * Both operations select the switch by `_uuid`, which ovsdb-server looks up directly: a guard
 * costs the same whatever the size of the NB. (A `where` on any other column is a scan of the
 * whole table in OVS 3.1: per-address keys on the ports themselves cost a scan of every port in
 * the NB per address.)
 *
 * Freeing deletes key-value pairs, so a late free never frees an address that another holder has
 * taken since. The two operations are the switch's (daemon/ovn/switch-keys.ts): takeKeysOps and
 * deleteKeysOps.
 */
import { IpamKeys } from '../ovn/ids.ts';
import type { LogicalSwitch } from '../ovn/switches.ts';

/** Who holds an address: a logical switch port (by name, unique in the NB) or an IPAMClaim (namespace/name). */
export type Holder = { port: string } | { claim: string };

const PORT = 'port:';
const CLAIM = 'ipam-claim:';

export function holderValue(holder: Holder): string {
  return 'port' in holder ? `${PORT}${holder.port}` : `${CLAIM}${holder.claim}`;
}

export function parseHolder(value: string): Holder | undefined {
  if (value.startsWith(PORT)) return { port: value.slice(PORT.length) };
  if (value.startsWith(CLAIM)) return { claim: value.slice(CLAIM.length) };
  return undefined;
}

export function addressKey(address: string): string {
  return `${IpamKeys.address}${address}`;
}

/** The switch key that marks port `port` as lost by a live attachment (ids.ts IpamKeys.lost). */
export function lostKey(port: string): string {
  return `${IpamKeys.lost}${port}`;
}

/** Who holds `address` on the switch, by its guard key. */
export function holderOf(sw: LogicalSwitch, address: string): Holder | undefined {
  const value = sw.externalIds.get(addressKey(address));
  return value === undefined ? undefined : parseHolder(value);
}

/** The guard keys of `addresses` for `holder`. */
export function guardPairs(addresses: readonly string[], holder: Holder): Map<string, string> {
  const value = holderValue(holder);
  return new Map(addresses.map((address) => [addressKey(address), value] as const));
}
