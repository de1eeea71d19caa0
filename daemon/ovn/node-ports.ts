/**
 * The logical switch ports of one node, without monitoring anyone else's: which nodes own ports
 * (one `select` that leaves out the ports of the nodes named), and the monitor conditions that
 * bring a node's ports (owned, or shared as a live migration's target) and their switches into a
 * cache. An NB of 100,000 ports of live nodes sends nothing back.
 */
import type { OvsdbClient } from '../ovsdb/client.ts';
import type { MonitorConditions } from '../ovsdb/monitor.ts';
import { condition, eq, type Condition } from '../ovsdb/ops.ts';
import { isUuid, type Uuid } from '../ovsdb/notation.ts';
import { selectedRows } from '../ovsdb/model.ts';
import { NbTable, type LogicalSwitchPort } from '../ovsdb/models/nb.ts';
import { NB_MONITOR, type NbClient, nbOps } from './nb.ts';
import { OWNER_VALUE, OwnerKeys, ScopeKeys, targetKey, TargetKeys } from './ids.ts';
import { portsByNode } from './indexes.ts';

/** What a client releasing a node's ports monitors (with nodePortConditions). */
export const NODE_PORTS_MONITOR = {
  Logical_Switch: NB_MONITOR.Logical_Switch,
  Logical_Switch_Port: NB_MONITOR.Logical_Switch_Port,
} as const;

const includes = (key: string, value: string): Condition<'external_ids'> => condition('external_ids', 'includes', new Map([[key, value]]));

/**
 * The nodes other than `except` that have ovn-multinet ports, by one `select` whose `where`
 * (ANDed) excludes every node of `except`: the server scans, only the others' ports come back.
 * A second `select` brings the ports shared by a live migration (few: the migrations in
 * flight), whose target's node may be another one.
 */
export async function nodesWithPorts(nb: Pick<OvsdbClient, 'transact'>, except: Iterable<string>, signal: AbortSignal): Promise<Set<string>> {
  const live = new Set(except);
  const where = [includes(OwnerKeys.owner, OWNER_VALUE), ...[...live].map((node) => condition('external_ids', 'excludes', new Map([[OwnerKeys.node, node]])))];
  const shared = [includes(targetKey(OwnerKeys.owner), OWNER_VALUE)];
  const [owned, migrating] = await nb.transact([nbOps.select(NbTable.Logical_Switch_Port, where, ['external_ids']), nbOps.select(NbTable.Logical_Switch_Port, shared, ['external_ids'])], signal);
  const nodes = new Set<string>();
  for (const row of selectedRows<LogicalSwitchPort, 'external_ids'>(owned)) {
    const node = row.external_ids.get(OwnerKeys.node);
    if (node !== undefined && node !== '') nodes.add(node);
  }
  for (const row of selectedRows<LogicalSwitchPort, 'external_ids'>(migrating)) {
    const node = row.external_ids.get(TargetKeys.node);
    if (node !== undefined && node !== '' && !live.has(node)) nodes.add(node);
  }
  return nodes;
}

/**
 * The monitor conditions for `node`'s ports, those it owns and those it shares as a live
 * migration's target (read `nb`'s cache: once the node's ports are in, one more condition change
 * brings their switches).
 */
export function nodePortConditions(node: string, nb: NbClient): MonitorConditions {
  const ports = [...portsByNode(nb).rows(node)];
  const switches = new Set<Uuid>();
  const unkeyed: Condition[] = [];
  for (const row of ports) {
    const sw = row.external_ids.get(ScopeKeys.switch);
    if (isUuid(sw)) switches.add(sw);
    else unkeyed.push(condition('ports', 'includes', [row._uuid]));
  }
  return new Map([
    [NbTable.Logical_Switch_Port, [includes(OwnerKeys.node, node), includes(TargetKeys.node, node)]],
    [NbTable.Logical_Switch, [...[...switches].sort().map((uuid) => eq('_uuid', uuid)), ...unkeyed]],
  ]);
}
