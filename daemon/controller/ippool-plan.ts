/**
 * What each IPPool's status says (pure; ippool-status.ts writes it): its conditions and its
 * usage per family, from the pool, its Network's switch as the NB holds it, and the other pools
 * of that switch (judged together, as the daemon does: ipam/ip-pools.ts judgePools).
 * - Accepted: True (Accepted), or False with InvalidSpec, NetworkNotFound, InvalidNetwork,
 *   LogicalSwitchNotFound, RangeOutsideSubnets or Overlaps; the message names the field.
 * - Ready: True (Ready: addresses free; Reserved), or False (NotAccepted; Exhausted: a family
 *   with no free address left).
 * - usage: per family, capacity (addresses the allocator may hand out from the pool's ranges)
 *   and used (of those, held on the switch: guard keys and IPAMClaim reservations).
 */
import { judgePools, poolOnlySettings } from '../ipam/ip-pools.ts';
import { usageOf } from '../ipam/usage.ts';
import type { IpamSettings } from '../ipam/pool.ts';
import type { IpPool, ParsedPool } from '../k8s/ippools.ts';
import type { Condition } from './objects.ts';
import { ACCEPTED, READY } from './conditions.ts';

type Desired = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/** A count as the status carries it: a number, or a string when too large for one (IPv6). */
type Count = number | string;

export interface FamilyUsage {
  family: 'IPv4' | 'IPv6';
  capacity: Count;
  used: Count;
}

export interface PoolStatus {
  conditions: Desired[];
  usage: FamilyUsage[];
}

/** A pool's Network's switch as the controller finds it. */
export type NetworkSwitch =
  | { kind: 'found'; switchName: string; settings: IpamSettings; used: readonly string[]; reserved: readonly string[] }
  | { kind: 'refused'; reason: 'NetworkNotFound' | 'InvalidNetwork' | 'LogicalSwitchNotFound'; message: string };

const count = (n: bigint): Count => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString());

function notAccepted(reason: string, message: string): PoolStatus {
  return {
    conditions: [
      { type: ACCEPTED, status: 'False', reason, message },
      { type: READY, status: 'False', reason: 'NotAccepted', message },
    ],
    usage: [],
  };
}

function acceptedStatus(pool: IpPool, found: Extract<NetworkSwitch, { kind: 'found' }>): PoolStatus {
  const rows = usageOf(poolOnlySettings(found.settings, pool), found.used, found.reserved);
  const usage = rows.map((u) => ({ family: u.family === 4 ? ('IPv4' as const) : ('IPv6' as const), capacity: count(u.capacity), used: count(u.used) }));
  const accepted: Desired = { type: ACCEPTED, status: 'True', reason: 'Accepted', message: `${pool.ranges.map((r) => r.text).join(', ')} of logical switch ${found.switchName}` };
  const full = rows.filter((u) => u.used >= u.capacity).map((u) => `IPv${u.family} (${u.used} of ${u.capacity} used)`);
  let ready: Desired;
  if (pool.reserved) ready = { type: READY, status: 'True', reason: 'Reserved', message: 'kept out of every pool and of the allocator' };
  else if (full.length > 0) ready = { type: READY, status: 'False', reason: 'Exhausted', message: `no free address left in ${full.join(', ')}` };
  else ready = { type: READY, status: 'True', reason: 'Ready', message: rows.map((u) => `IPv${u.family}: ${u.capacity - u.used} of ${u.capacity} free`).join(', ') };
  return { conditions: [accepted, ready], usage };
}

/** The status of every pool, by name; `switchOf` finds a Network's switch. */
export function poolStatuses(parsed: readonly ParsedPool[], switchOf: (network: string) => NetworkSwitch): Map<string, PoolStatus> {
  const statuses = new Map<string, PoolStatus>();
  const bySwitch = new Map<string, { found: Extract<NetworkSwitch, { kind: 'found' }>; pools: IpPool[] }>();
  for (const item of parsed) {
    if (!item.valid) {
      statuses.set(item.name, notAccepted('InvalidSpec', item.message));
      continue;
    }
    const { pool } = item;
    const found = switchOf(pool.network);
    if (found.kind === 'refused') {
      statuses.set(pool.name, notAccepted(found.reason, `spec.network: ${found.message}`));
      continue;
    }
    const group = bySwitch.get(found.switchName) ?? { found, pools: [] };
    group.pools.push(pool);
    bySwitch.set(found.switchName, group);
  }
  for (const { found, pools } of bySwitch.values()) {
    const verdicts = judgePools(pools, found.settings.subnets);
    for (const pool of pools) {
      const verdict = verdicts.get(pool.name);
      if (verdict === undefined || verdict.accepted) statuses.set(pool.name, acceptedStatus(pool, found));
      else statuses.set(pool.name, notAccepted(verdict.reason, verdict.message));
    }
  }
  return statuses;
}
