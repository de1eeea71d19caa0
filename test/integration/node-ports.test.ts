// A dead node's ports against a real ovsdb-server (daemon/ovn/node-ports.ts,
// daemon/attachments/release-node.ts): the select finds the nodes with ports besides those named (owned,
// or shared as a live migration's target); the release client's monitor holds that node's ports
// (owned or shared) and their switches, nothing else; the release removes exactly that node's
// ports and their guard keys, and takes the node's target off a port it shares.
import t from 'tap';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { selectedRows } from '../../daemon/ovsdb/model.ts';
import { nbModel, type LogicalSwitch, type LogicalSwitchPort } from '../../daemon/ovsdb/models/nb.ts';
import { eq, insert, mutate, mutation } from '../../daemon/ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../../daemon/ovsdb/notation.ts';
import { NB_MONITOR, type NbClient } from '../../daemon/ovn/nb.ts';
import { asTargetIds, IpamKeys, OWNER_VALUE, OwnerKeys, ScopeKeys, targetIdsOf } from '../../daemon/ovn/ids.ts';
import { NODE_PORTS_MONITOR, nodePortConditions, nodesWithPorts } from '../../daemon/ovn/node-ports.ts';
import { releasePortsOf } from '../../daemon/attachments/release-node.ts';
import { NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(5000);
const names = (nb: NbClient, table: 'Logical_Switch' | 'Logical_Switch_Port'): string[] => [...nb.cache.table(table).values()].map((row) => row.name).sort();

t.test("a node's ports, and only them", async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const admin = modelClient(nbModel, NB_MONITOR, { remotes: [server.unixRemote] });
  t.teardown(() => admin.close());
  admin.start();
  await admin.waitConnected(deadline());

  const switches = new Map<string, Uuid>();
  for (const name of ['s1', 's2', 'other']) {
    const [r] = await admin.transact([insert('Logical_Switch', { name })], deadline());
    if (r?.uuid === undefined) throw new Error('no uuid');
    switches.set(name, r.uuid);
  }
  let n = 10;
  /** A port of ours on `sw` for `node` with one address and its guard key; extra ids added. */
  const port = async (sw: string, name: string, node: string | undefined, extra: Array<[string, string]> = []): Promise<string> => {
    const ip = `10.0.0.${n++}`;
    const mac = `0a:58:0a:00:00:${n.toString(16).padStart(2, '0')}`;
    const ids = new Map<string, string>(
      node === undefined ? [] : [[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.containerId, name], [OwnerKeys.ifName, 'net1'], [OwnerKeys.node, node], [ScopeKeys.switch, switches.get(sw) ?? ''], ...extra],
    );
    const guards = node === undefined ? new Map<string, string>() : new Map([[`${IpamKeys.address}${ip}`, `port:${name}`], [`${IpamKeys.address}${mac}`, `port:${name}`]]);
    await admin.transact(
      [
        insert('Logical_Switch_Port', { name, addresses: [`${mac} ${ip}`], external_ids: ids }, 'p'),
        mutate('Logical_Switch', [eq('name', sw)], [mutation('ports', 'insert', [namedUuid('p')]), mutation('external_ids', 'insert', guards)]),
      ],
      deadline(),
    );
    return ip;
  };
  await port('s1', 'a1', 'node-a');
  const b1ip = await port('s1', 'b1', 'node-b');
  await port('s2', 'b2', 'node-b', [[OwnerKeys.ipamClaim, 'vms/x']]);
  // node-a's VM migrating to node-b: the port is node-a's, shared by node-b's target.
  const target = asTargetIds(new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.containerId, 'b-target'], [OwnerKeys.ifName, 'net1'], [OwnerKeys.node, 'node-b'], [OwnerKeys.chassis, 'chassis-b']]));
  await port('s2', 'a-claim', 'node-a', [[OwnerKeys.ipamClaim, 'vms/y'], [OwnerKeys.chassis, 'chassis-a'], ...target]);
  await port('other', 'c1', 'node-c');
  // node-d has only a target on a port of node-c's.
  await port('other', 'c-claim', 'node-c', [[OwnerKeys.ipamClaim, 'vms/z'], ...asTargetIds(new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.containerId, 'd-target'], [OwnerKeys.ifName, 'net1'], [OwnerKeys.node, 'node-d']]))]);
  await port('s1', 'admin-made', undefined);

  t.same([...(await nodesWithPorts(admin, ['node-a'], deadline()))].sort(), ['node-b', 'node-c', 'node-d'], 'the nodes besides those named that have ports');
  t.same([...(await nodesWithPorts(admin, ['node-a', 'node-b', 'node-c'], deadline()))], ['node-d'], 'a node that is only a migration target');
  t.same([...(await nodesWithPorts(admin, ['node-a', 'node-b', 'node-c', 'node-d'], deadline()))], [], 'none when every node is named');

  const client: NbClient = modelClient(nbModel, NODE_PORTS_MONITOR, { remotes: [server.unixRemote], conditions: () => nodePortConditions('node-b', client) });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  t.same(names(client, 'Logical_Switch_Port'), ['a-claim', 'b1', 'b2'], "the node's ports, owned and shared");
  await client.updateConditions(deadline());
  t.same(names(client, 'Logical_Switch'), ['s1', 's2'], 'then their switches, not the others');

  const released = await releasePortsOf(client, 'node-b', deadline());
  t.same(released.map((p) => [p.name, p.switchName, p.containerId]).sort(), [['a-claim', 's2', 'b-target'], ['b1', 's1', 'b1'], ['b2', 's2', 'b2']], "its two ports and its target's share, each with its switch");
  t.match(released.find((p) => p.name === 'b1')?.entry, new RegExp(` ${b1ip.replaceAll('.', '\\.')}$`), 'with its addresses');
  const [rows] = await admin.transact([{ op: 'select', table: 'Logical_Switch_Port', where: [], columns: ['name'] }], deadline());
  t.same(selectedRows<LogicalSwitchPort, 'name'>(rows).map((r) => r.name).sort(), ['a-claim', 'a1', 'admin-made', 'c-claim', 'c1'], 'every other port stays');
  const [shared] = await admin.transact([{ op: 'select', table: 'Logical_Switch_Port', where: [eq('name', 'a-claim')], columns: ['external_ids', 'options'] }], deadline());
  const [sharedRow] = selectedRows<LogicalSwitchPort, 'external_ids' | 'options'>(shared);
  const sharedIds = sharedRow?.external_ids ?? new Map<string, string>();
  t.equal(sharedIds.get(OwnerKeys.node), 'node-a', "node-a's port stays node-a's");
  t.equal(targetIdsOf(sharedIds).size, 0, "node-b's target is gone from it");
  t.same(Object.fromEntries(sharedRow?.options ?? new Map<string, string>()), { 'requested-chassis': 'chassis-a' }, "node-a's chassis only");
  const [s1] = await admin.transact([{ op: 'select', table: 'Logical_Switch', where: [eq('name', 's1')], columns: ['external_ids'] }], deadline());
  const holders = [...(selectedRows<LogicalSwitch, 'external_ids'>(s1)[0]?.external_ids ?? new Map<string, string>()).values()];
  t.notOk(holders.includes('port:b1'), "b1's guard keys are gone");
  t.ok(holders.includes('port:a1'), "a1's stay");
  t.same(await releasePortsOf(client, 'node-b', deadline()), [], 'again: nothing');
});
