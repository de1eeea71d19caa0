// A dead node's ports against a real ovsdb-server (daemon/ovn/node-ports.ts,
// daemon/attachments/node-gc.ts): the select finds the nodes owning ports besides those named;
// the release client's monitor holds that node's ports, their switches and their IPAMClaims'
// other ports, nothing else; the release removes exactly that node's ports and their guard keys.
import t from 'tap';
import { stringMapOf, stringOf } from '../../daemon/lib/rows.ts';
import { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import { eq, insert, mutate, mutation } from '../../daemon/ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../../daemon/ovsdb/notation.ts';
import { NB_MONITOR } from '../../daemon/ovn/switches.ts';
import { IpamKeys, OWNER_VALUE, OwnerKeys, ScopeKeys } from '../../daemon/ovn/ids.ts';
import { NODE_PORTS_MONITOR, nodePortConditions, nodesWithPorts } from '../../daemon/ovn/node-ports.ts';
import { releasePortsOf } from '../../daemon/attachments/node-gc.ts';
import { NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(5000);
const names = (nb: OvsdbClient, table: string): string[] => [...nb.cache.table(table).values()].map((row) => stringOf(row, 'name') ?? '').sort();

t.test("a node's ports, and only them", async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const admin = new OvsdbClient({ remotes: [server.unixRemote], database: 'OVN_Northbound', monitor: NB_MONITOR });
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
    const ids = new Map<string, string>(node === undefined ? [] : [[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.node, node], [ScopeKeys.switch, switches.get(sw) ?? ''], ...extra]);
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
  await port('s2', 'a-claim', 'node-a', [[OwnerKeys.ipamClaim, 'vms/x']]);
  await port('other', 'c1', 'node-c');
  await port('s1', 'admin-made', undefined);

  t.same([...(await nodesWithPorts(admin, ['node-a'], deadline()))].sort(), ['node-b', 'node-c'], 'the nodes besides those named that own ports');
  t.same([...(await nodesWithPorts(admin, ['node-a', 'node-b', 'node-c'], deadline()))], [], 'none when every owner is named');

  const client: OvsdbClient = new OvsdbClient({ remotes: [server.unixRemote], database: 'OVN_Northbound', monitor: NODE_PORTS_MONITOR, conditions: () => nodePortConditions('node-b', client) });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  t.same(names(client, 'Logical_Switch_Port'), ['b1', 'b2'], "at first: the node's ports");
  await client.updateConditions(deadline());
  t.same(names(client, 'Logical_Switch_Port'), ['a-claim', 'b1', 'b2'], 'then also the other ports of their IPAMClaims');
  t.same(names(client, 'Logical_Switch'), ['s1', 's2'], 'and their switches, not the others');

  const released = await releasePortsOf(client, 'node-b', deadline());
  t.same(released.map((p) => [p.name, p.switchName]).sort(), [['b1', 's1'], ['b2', 's2']], 'both ports, each with its switch');
  t.match(released.find((p) => p.name === 'b1')?.entry, new RegExp(` ${b1ip.replaceAll('.', '\\.')}$`), 'with its addresses');
  const [rows] = await admin.transact([{ op: 'select', table: 'Logical_Switch_Port', where: [], columns: ['name'] }], deadline());
  t.same((rows?.rows ?? []).map((r) => stringOf(r, 'name')).sort(), ['a-claim', 'a1', 'admin-made', 'c1'], "every other port stays");
  const [s1] = await admin.transact([{ op: 'select', table: 'Logical_Switch', where: [eq('name', 's1')], columns: ['external_ids'] }], deadline());
  const holders = [...stringMapOf(s1?.rows?.[0] ?? {}, 'external_ids').values()];
  t.notOk(holders.includes('port:b1'), "b1's guard keys are gone");
  t.ok(holders.includes('port:a1'), "a1's stay");
  t.same(await releasePortsOf(client, 'node-b', deadline()), [], 'again: nothing');
});
