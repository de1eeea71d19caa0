/**
 * Persistent addresses (IPAMClaims) in the NB. A claim's MAC and IPs are reserved on the logical
 * switch of its network, in the switch's external_ids, so they outlive every pod that uses them:
 *
 *   ovn-multinet/ipam-claim:<namespace>/<name> = "<mac> <ip> [<ip>]"          what the claim holds
 *   ovn-multinet/addr:<address>                = "ipam-claim:<namespace>/<name>"  each address's guard
 *
 * The first pod of a claim takes both in one guarded transaction (guards.ts), so two pods racing
 * for a new claim end with one reservation, and an address an ordinary port took meanwhile is
 * never reserved too. Later pods of the claim commit only while the reservation is unchanged
 * (reservationGuard). Releasing deletes key-value pairs, so a stale release never removes a
 * newer reservation of the same claim.
 */
import { condition, eq, type Operation } from '../ovsdb/ops.ts';
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { Uuid } from '../ovsdb/notation.ts';
import { NbTable, type LogicalSwitch as SwitchRow } from '../ovsdb/models/nb.ts';
import { parsePortAddresses } from '../ovn/entries.ts';
import { IpamKeys } from '../ovn/ids.ts';
import type { LogicalSwitch } from '../ovn/switches.ts';
import { nbOps } from '../ovn/nb.ts';
import { guardPairs } from './guards.ts';
import { deleteKeysOps, takeKeysOps } from '../ovn/switch-keys.ts';

/** What a claim holds on one switch. */
export interface Reservation {
  /** namespace/name of the IPAMClaim. */
  claim: string;
  mac: string;
  ips: string[];
}

export const claimKey = (claim: string): string => `${IpamKeys.reservation}${claim}`;

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
    if (!key.startsWith(IpamKeys.reservation)) continue;
    const { mac, ips } = parsePortAddresses(value);
    if (mac !== undefined) found.push({ claim: key.slice(IpamKeys.reservation.length), mac, ips });
  }
  return found;
}

function reservationPairs(r: Reservation): Map<string, string> {
  const pairs = guardPairs([r.mac, ...r.ips], { claim: r.claim });
  pairs.set(claimKey(r.claim), [r.mac, ...r.ips].join(' '));
  return pairs;
}

/**
 * Records the reservation on the switch (in the transaction that creates the claim's first port):
 * two operations, the second the guard, failing when an address or the claim was taken meanwhile.
 */
export function reserveOps(sw: Pick<LogicalSwitch, 'uuid' | 'name'>, r: Reservation): Operation[] {
  return takeKeysOps(sw, reservationPairs(r));
}

/** Frees the reservation; pairs that changed meanwhile (a newer reservation) are left alone. */
export function releaseOps(switchUuid: Uuid, r: Reservation): Operation[] {
  return deleteKeysOps(switchUuid, reservationPairs(r));
}

/** Commits only if the claim's reservation is still exactly `r`. */
export function reservationGuard(sw: LogicalSwitch, r: Reservation): Operation {
  const pair = new Map([[claimKey(r.claim), [r.mac, ...r.ips].join(' ')]]);
  return nbOps.wait(NbTable.Logical_Switch, [eq('_uuid', sw.uuid), condition('external_ids', 'includes', pair)], ['name'], '==', [{ name: sw.name }], 0);
}

/**
 * Every reservation in the NB, with its switch: what a release pass compares against the claims.
 * Of any client that monitors the switches' names and external_ids (the controller's).
 */
export function allReservations(nb: OvsdbClient<{ readonly Logical_Switch: Pick<SwitchRow, '_uuid' | 'name' | 'external_ids'> }>): Array<Reservation & { switchUuid: Uuid; switchName: string }> {
  const found: Array<Reservation & { switchUuid: Uuid; switchName: string }> = [];
  for (const row of nb.cache.table(NbTable.Logical_Switch).values()) {
    for (const r of reservationsOf(row.external_ids)) found.push({ ...r, switchUuid: row._uuid, switchName: row.name });
  }
  return found;
}
