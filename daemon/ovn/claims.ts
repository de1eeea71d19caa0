/**
 * Persistent addresses (IPAMClaims) in the NB. A claim's MAC and IPs are reserved on the logical
 * switch of its network, in the switch's external_ids, so they outlive every pod that uses them:
 *
 *   ovn-multinet/ipam-claim:<namespace>/<name> = "<mac> <ip> [<ip>]"   which claim holds what
 *   ovn-multinet/reserved:<address>           = "ipam-claim"           one key per address held
 *
 * The per-address keys have a constant value so that a `wait` can test for them: every ordinary
 * allocation commits only if none of its addresses became reserved meanwhile (reservedGuard), and
 * the first allocation of a claim commits only if the switch's external_ids are still what the
 * daemon saw (firstReservationGuard), so two pods racing for a new claim end with one reservation.
 * Deleting the reservation (releaseOps) deletes key-value pairs, so a stale release never removes
 * a newer reservation of the same claim.
 */
import { condition, eq, mutate, mutation, wait, type Operation } from '../ovsdb/ops.ts';
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { rowUuid, stringMapOf, stringOf } from '../lib/rows.ts';
import { parsePortAddresses } from './ipam.ts';
import type { LogicalSwitch } from './switches.ts';

const CLAIM_PREFIX = 'ovn-multinet/ipam-claim:';
const RESERVED_PREFIX = 'ovn-multinet/reserved:';
const RESERVED_VALUE = 'ipam-claim';

/** What a claim holds on one switch. */
export interface Reservation {
  /** namespace/name of the IPAMClaim. */
  claim: string;
  mac: string;
  ips: string[];
}

export const claimKey = (claim: string): string => `${CLAIM_PREFIX}${claim}`;
const reservedKey = (address: string): string => `${RESERVED_PREFIX}${address}`;

/** The claim's reservation on this switch, if it has one. */
export function reservationOf(sw: LogicalSwitch, claim: string): Reservation | undefined {
  const value = sw.externalIds.get(claimKey(claim));
  if (value === undefined) return undefined;
  const { mac, ips } = parsePortAddresses(value);
  return mac === undefined ? undefined : { claim, mac, ips };
}

/** Every reservation on the switch. */
export function reservationsOf(externalIds: ReadonlyMap<string, string>): Reservation[] {
  const found: Reservation[] = [];
  for (const [key, value] of externalIds) {
    if (!key.startsWith(CLAIM_PREFIX)) continue;
    const { mac, ips } = parsePortAddresses(value);
    if (mac !== undefined) found.push({ claim: key.slice(CLAIM_PREFIX.length), mac, ips });
  }
  return found;
}

function reservationPairs(r: Reservation): Map<string, string> {
  const pairs = new Map<string, string>([[claimKey(r.claim), [r.mac, ...r.ips].join(' ')]]);
  for (const address of [r.mac, ...r.ips]) pairs.set(reservedKey(address), RESERVED_VALUE);
  return pairs;
}

/** Records the reservation on the switch (part of the transaction that creates the first port). */
export function reserveOps(switchUuid: Uuid, r: Reservation): Operation[] {
  return [mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('external_ids', 'insert', reservationPairs(r))])];
}

/** Frees the reservation; pairs that changed meanwhile (a newer reservation) are left alone. */
export function releaseOps(switchUuid: Uuid, r: Reservation): Operation[] {
  return [mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('external_ids', 'delete', reservationPairs(r))])];
}

/** Commits only if none of `addresses` is reserved by a claim on the switch. */
export function reservedGuard(sw: LogicalSwitch, addresses: readonly string[]): Operation {
  const pairs = new Map(addresses.map((a) => [reservedKey(a), RESERVED_VALUE] as const));
  return wait('Logical_Switch', [eq('_uuid', sw.uuid), condition('external_ids', 'excludes', pairs)], ['name'], '==', [{ name: sw.name }], 0);
}

/** Commits only if the claim's reservation is still exactly `r`. */
export function reservationGuard(sw: LogicalSwitch, r: Reservation): Operation {
  const pair = new Map([[claimKey(r.claim), [r.mac, ...r.ips].join(' ')]]);
  return wait('Logical_Switch', [eq('_uuid', sw.uuid), condition('external_ids', 'includes', pair)], ['name'], '==', [{ name: sw.name }], 0);
}

/** Commits only if the switch's external_ids are what the cache shows (no reservation came meanwhile). */
export function firstReservationGuard(sw: LogicalSwitch): Operation {
  return wait('Logical_Switch', [eq('_uuid', sw.uuid)], ['external_ids'], '==', [{ external_ids: new Map(sw.externalIds) }], 0);
}

/** Every reservation in the NB, with its switch: what a release pass compares against the claims. */
export function allReservations(nb: OvsdbClient): Array<Reservation & { switchUuid: Uuid; switchName: string }> {
  const found: Array<Reservation & { switchUuid: Uuid; switchName: string }> = [];
  for (const row of nb.cache.table('Logical_Switch').values()) {
    for (const r of reservationsOf(stringMapOf(row, 'external_ids'))) found.push({ ...r, switchUuid: rowUuid(row), switchName: stringOf(row, 'name') ?? '' });
  }
  return found;
}
