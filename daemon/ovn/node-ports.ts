/**
 * The logical switch ports of one node, without monitoring anyone else's: which nodes own ports
 * (one `select` that leaves out the ports of the nodes named), and the monitor conditions that
 * bring a node's ports, their switches and the other ports of their IPAMClaims (what
 * deleteLogicalPort needs) into a cache. An NB of 100,000 ports of live nodes sends nothing back.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { condition, eq, select, type Condition } from '../ovsdb/ops.ts';
import { isUuid, type Uuid } from '../ovsdb/notation.ts';
import { rowUuid, stringMapOf } from '../lib/rows.ts';
import { NB_MONITOR } from './switches.ts';
import { OWNER_VALUE, OwnerKeys, ScopeKeys } from './ids.ts';
import { portsByNode } from './indexes.ts';

/** What a client releasing a node's ports monitors (with nodePortConditions). */
export const NODE_PORTS_MONITOR = {
  Logical_Switch: NB_MONITOR.Logical_Switch,
  Logical_Switch_Port: NB_MONITOR.Logical_Switch_Port,
} as const;

const includes = (key: string, value: string): Condition => condition('external_ids', 'includes', new Map([[key, value]]));

/**
 * The nodes other than `except` that own ovn-multinet ports, by one `select` whose `where`
 * (ANDed) excludes every node of `except`: the server scans, only the others' ports come back.
 */
export async function nodesWithPorts(nb: OvsdbClient, except: Iterable<string>, signal: AbortSignal): Promise<Set<string>> {
  const where = [includes(OwnerKeys.owner, OWNER_VALUE), ...[...except].map((node) => condition('external_ids', 'excludes', new Map([[OwnerKeys.node, node]])))];
  const [result] = await nb.transact([select('Logical_Switch_Port', where, ['external_ids'])], signal);
  const nodes = new Set<string>();
  for (const row of result?.rows ?? []) {
    const node = stringMapOf(row, 'external_ids').get(OwnerKeys.node);
    if (node !== undefined && node !== '') nodes.add(node);
  }
  return nodes;
}

/**
 * The monitor conditions for `node`'s ports (read `nb`'s cache: once the node's ports are in,
 * one more condition change brings their switches and their IPAMClaims' other ports).
 */
export function nodePortConditions(node: string, nb: OvsdbClient): MonitorConditions {
  const ports = [...portsByNode(nb).rows(node)];
  const claims = new Set<string>();
  const switches = new Set<Uuid>();
  const unkeyed: Condition[] = [];
  for (const row of ports) {
    const ids = stringMapOf(row, 'external_ids');
    const claim = ids.get(OwnerKeys.ipamClaim);
    if (claim !== undefined) claims.add(claim);
    const sw = ids.get(ScopeKeys.switch);
    if (isUuid(sw)) switches.add(sw);
    else unkeyed.push(condition('ports', 'includes', [rowUuid(row)]));
  }
  return new Map([
    ['Logical_Switch_Port', [includes(OwnerKeys.node, node), ...[...claims].sort().map((claim) => includes(OwnerKeys.ipamClaim, claim))]],
    ['Logical_Switch', [...[...switches].sort().map((uuid) => eq('_uuid', uuid)), ...unkeyed]],
  ]);
}
