/**
 * A port's bandwidth limits as NB QoS rows on its switch (`Logical_Switch.qos_rules`), which
 * ovn-controller turns into OpenFlow meters: `from-lport` with `inport == <port>` polices what
 * the pod sends (egress), `to-lport` with `outport == <port>` what it receives (ingress). They
 * police traffic between pods of one node too, unlike the port's `options:qos_max_rate`, which
 * OVN applies only where traffic leaves through a localnet port or a tunnel (docs/bandwidth.md).
 *
 * Each row's uuid is derived from the port's name and the direction (an insert may name its
 * uuid), so whoever deletes a port removes its rows by name alone, in the same transaction,
 * without reading them: deletePortOps (ports.ts) does it on every path. QoS rows are not root
 * rows: removed from `qos_rules`, they are deleted by the NB.
 */
import { createHash } from 'node:crypto';
import type { Bandwidth, BandwidthLimit } from '../netconf/bandwidth.ts';
import { eq, mutation, type Mutation, type Operation } from '../ovsdb/ops.ts';
import { parseUuid, type Uuid } from '../ovsdb/notation.ts';
import { NbTable } from '../ovsdb/models/nb.ts';
import { OWNER_VALUE, OwnerKeys, QosKeys } from './ids.ts';
import { nbOps, type NbClient } from './nb.ts';

/** Above an admin's rules of the default priority (ovn-nbctl's qos-add has none: 0 is its floor). */
export const QOS_PRIORITY = 2000;

type Direction = 'from-lport' | 'to-lport';

const DIRECTIONS: ReadonlyArray<{ direction: Direction; side: keyof Bandwidth; field: 'inport' | 'outport' }> = [
  { direction: 'from-lport', side: 'egress', field: 'inport' },
  { direction: 'to-lport', side: 'ingress', field: 'outport' },
];

/** The uuid of the port's row for one direction: a name-based uuid (RFC 9562 version 8) of both. */
export function qosRowUuid(portName: string, direction: Direction): Uuid {
  const hash = createHash('sha256').update(`ovn-multinet/qos\0${portName}\0${direction}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x80;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return parseUuid(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`);
}

/** bits -> OVN's kbit, never below its minimum of 1. */
function kbits(bits: number): number {
  return Math.max(1, Math.round(bits / 1000));
}

function qosRow(portName: string, direction: Direction, field: 'inport' | 'outport', limit: BandwidthLimit): Parameters<typeof nbOps.insert<typeof NbTable.QoS>>[1] {
  return {
    priority: QOS_PRIORITY,
    direction,
    match: `${field} == ${JSON.stringify(portName)}`,
    bandwidth: new Map([
      ['rate', kbits(limit.rate)],
      ['burst', kbits(limit.burst)],
    ]),
    external_ids: new Map([
      [OwnerKeys.owner, OWNER_VALUE],
      [QosKeys.port, portName],
    ]),
  };
}

/** The mutation of the switch that removes the port's rows (deleting absent ones is no error). */
export function dropQosMutation(portName: string): Mutation<'qos_rules'> {
  return mutation(
    'qos_rules',
    'delete',
    DIRECTIONS.map(({ direction }) => qosRowUuid(portName, direction)),
  );
}

/**
 * The operations that make the switch's rows for the port what `bandwidth` asks: inserted,
 * updated or removed. `present`: the row uuids the switch's `qos_rules` holds (none for a new
 * port). Empty when there is nothing to write.
 */
export function qosOps(switchUuid: Uuid, portName: string, bandwidth: Bandwidth | undefined, present: ReadonlySet<Uuid> = new Set()): Operation[] {
  const ops: Operation[] = [];
  const link: Uuid[] = [];
  const unlink: Uuid[] = [];
  for (const { direction, side, field } of DIRECTIONS) {
    const uuid = qosRowUuid(portName, direction);
    const limit = bandwidth?.[side];
    if (limit === undefined) {
      if (present.has(uuid)) unlink.push(uuid);
    } else if (present.has(uuid)) {
      ops.push(nbOps.update(NbTable.QoS, [eq('_uuid', uuid)], qosRow(portName, direction, field, limit)));
    } else {
      ops.push(nbOps.insert(NbTable.QoS, qosRow(portName, direction, field, limit), undefined, uuid));
      link.push(uuid);
    }
  }
  const mutations = [...(link.length > 0 ? [mutation('qos_rules', 'insert', link)] : []), ...(unlink.length > 0 ? [mutation('qos_rules', 'delete', unlink)] : [])];
  if (mutations.length > 0) ops.push(nbOps.mutate(NbTable.Logical_Switch, [eq('_uuid', switchUuid)], mutations));
  return ops;
}

/** Of the port's row uuids, those the switch's `qos_rules` holds in the cache now. */
export function presentQosRows(nb: NbClient, switchUuid: Uuid, portName: string): Set<Uuid> {
  const rules = new Set(nb.cache.row(NbTable.Logical_Switch, switchUuid)?.qos_rules ?? []);
  return new Set(DIRECTIONS.map(({ direction }) => qosRowUuid(portName, direction)).filter((uuid) => rules.has(uuid)));
}

/**
 * What CHECK finds wrong with the port's rows, as the switch's `qos_rules` list them: a direction
 * the config limits without its row, or a row for a direction it does not limit. (The rows'
 * rates are not in the daemon's view.)
 */
export function qosProblems(nb: NbClient, switchUuid: Uuid, portName: string, bandwidth: Bandwidth | undefined): string[] {
  const present = presentQosRows(nb, switchUuid, portName);
  return DIRECTIONS.flatMap(({ direction, side }) => {
    const has = present.has(qosRowUuid(portName, direction));
    if (bandwidth?.[side] !== undefined && !has) return [`logical switch port ${portName} has no QoS row limiting its ${side}`];
    if (bandwidth?.[side] === undefined && has) return [`logical switch port ${portName} has a QoS row limiting its ${side}, which the config does not ask for`];
    return [];
  });
}
