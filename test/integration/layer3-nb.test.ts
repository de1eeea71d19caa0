// Layer3 rows against a real ovsdb-server (daemon/ovn/layer3.ts, layer3-release.ts): eight nodes
// making their switches at once, each through its own connection, end with one router, eight
// switches and eight node subnets that never overlap; a node that finds every subnet taken is
// refused and makes nothing; a second definition is refused; a dead node's switch goes only
// once it holds nothing but its router-type port, and the nodes that have switches are found.
import t from 'tap';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { nbModel } from '../../daemon/ovsdb/models/nb.ts';
import { eq, insert, mutate, mutation } from '../../daemon/ovsdb/ops.ts';
import { namedUuid } from '../../daemon/ovsdb/notation.ts';
import { NB_MONITOR, type NbClient } from '../../daemon/ovn/nb.ts';
import { ensureLayer3Switch } from '../../daemon/ovn/layer3.ts';
import { nodesWithLayer3Switches, releaseLayer3Switches } from '../../daemon/ovn/layer3-release.ts';
import type { ManagedNetwork } from '../../daemon/netconf/managed.ts';
import { NetworkDefinitionError, PoolExhaustedError } from '../../daemon/errors.ts';
import { IpamKeys } from '../../daemon/ovn/ids.ts';
import { NB_SCHEMA, startOvsdbServer } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(20_000);
const net = (subnets: string[], hostSubnetLength?: number): ManagedNetwork => ({
  topology: 'layer3',
  subnets,
  excludeSubnets: [],
  physicalNetworkName: undefined,
  vlanId: undefined,
  gateways: [],
  ...(hostSubnetLength === undefined ? {} : { hostSubnetLength }),
});
const NODES = Array.from({ length: 8 }, (_, i) => `node-${i}`);

t.test('layer3 rows in a real NB', async (t) => {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const connect = async (): Promise<NbClient> => {
    const client: NbClient = modelClient(nbModel, NB_MONITOR, { remotes: [server.unixRemote] });
    t.teardown(() => client.close());
    client.start();
    await client.waitConnected(deadline());
    return client;
  };
  const admin = await connect();
  const nbctlNames = (table: 'Logical_Switch' | 'Logical_Switch_Port' | 'Logical_Router_Port'): string[] => [...admin.cache.table(table).values()].map((r) => r.name).sort();
  const routerKeys = async (router: string): Promise<Map<string, string>> => {
    const [r] = await admin.transact([{ op: 'select', table: 'Logical_Router', where: [eq('name', router)], columns: ['external_ids'] }], deadline());
    const row = r?.rows?.[0] as { external_ids?: ReadonlyMap<string, string> } | undefined;
    return new Map([...(row?.external_ids ?? new Map<string, string>())].filter(([k]) => k.startsWith('ovn-multinet/node-subnet:')));
  };

  t.test('eight nodes at once: one router, a switch and a distinct node subnet each', async (t) => {
    const clients = await Promise.all(NODES.map(() => connect()));
    const made = await Promise.all(NODES.map((node, i) => ensureLayer3Switch(clients[i] as NbClient, 'race', 'race', net(['10.10.0.0/16']), node, deadline())));
    t.same(made.map((sw) => sw.name).sort(), NODES.map((n) => `race_${n}`).sort(), 'each node got its own switch');
    const [routers] = await admin.transact([{ op: 'select', table: 'Logical_Router', where: [], columns: ['name'] }], deadline());
    t.equal(routers?.rows?.length, 1, 'one router');
    const keys = await routerKeys('race_router');
    t.equal(keys.size, NODES.length, `a node subnet per node: ${[...keys].map(([k, v]) => `${k.split(':')[1] ?? ''}=${v}`).join(' ')}`);
    t.same(new Set(keys.values()), new Set(NODES), 'every node holds one');
    const subnets = made.map((sw) => sw.externalIds.get(IpamKeys.subnets));
    t.equal(new Set(subnets).size, NODES.length, 'the switches have distinct subnets');
    t.ok(subnets.every((s) => s !== undefined && /^10\.10\.\d+\.0\/24$/.test(s)), 'each a /24 of the cluster subnet');
    t.equal(nbctlNames('Logical_Router_Port').filter((n) => n.startsWith('omn-rtos-race_')).length, NODES.length, 'a router port per node');
    const again = await ensureLayer3Switch(clients[0] as NbClient, 'race', 'race', net(['10.10.0.0/16']), NODES[0] ?? '', deadline());
    t.equal(again.uuid, made[0]?.uuid, "a node's later ADD finds its switch");
  });

  t.test("one node's first ADDs at once: one switch, one subnet", async (t) => {
    const client = await connect();
    const made = await Promise.all(Array.from({ length: 4 }, () => ensureLayer3Switch(client, 'same', 'same', net(['10.30.0.0/16']), 'node-a', deadline())));
    t.equal(new Set(made.map((sw) => sw.uuid)).size, 1, 'the same switch for all four');
    t.same([...(await routerKeys('same_router')).entries()], [['ovn-multinet/node-subnet:10.30.0.0/24', 'node-a']], 'one node subnet');
  });

  t.test('every node subnet taken: refused, nothing made', async (t) => {
    const small = net(['10.20.0.0/24'], 25);
    await ensureLayer3Switch(admin, 'small', 'small', small, 'node-a', deadline());
    await ensureLayer3Switch(admin, 'small', 'small', small, 'node-b', deadline());
    await t.rejects(ensureLayer3Switch(admin, 'small', 'small', small, 'node-c', deadline()), PoolExhaustedError, 'the third node finds no /25 left');
    t.notOk(nbctlNames('Logical_Switch').includes('small_node-c'), 'no switch for it');
    t.equal((await routerKeys('small_router')).size, 2, 'no key for it');
    await t.rejects(ensureLayer3Switch(admin, 'small', 'small', net(['10.20.0.0/24'], 26), 'node-c', deadline()), NetworkDefinitionError, 'another definition is refused by the router');
    await t.rejects(ensureLayer3Switch(admin, 'small', 'small', small, 'Bad_Node', deadline()), NetworkDefinitionError, 'a node name with "_" (no Kubernetes node name) is refused');
  });

  t.test("a dead node's switch goes once it holds only its router-type port", async (t) => {
    t.same([...(await nodesWithLayer3Switches(admin, ['node-a'], deadline()))].sort(), [...NODES, 'node-b'].sort(), 'the nodes with switches besides those named');
    // Someone else's port on node-b's switch keeps it.
    await admin.transact([insert('Logical_Switch_Port', { name: 'admin-port' }, 'p'), mutate('Logical_Switch', [eq('name', 'small_node-b')], [mutation('ports', 'insert', [namedUuid('p')])])], deadline());
    const kept = await releaseLayer3Switches(admin, 'node-b', deadline());
    t.same(kept, { deleted: [], kept: [{ name: 'small_node-b', ports: ['admin-port'] }] }, 'kept, naming the port');
    t.equal((await routerKeys('small_router')).size, 2, 'its subnet stays taken');
    const adminPort = [...admin.cache.table('Logical_Switch_Port').values()].find((p) => p.name === 'admin-port')?._uuid ?? '';
    await admin.transact([mutate('Logical_Switch', [eq('name', 'small_node-b')], [mutation('ports', 'delete', [adminPort])])], deadline());
    const released = await releaseLayer3Switches(admin, 'node-b', deadline());
    t.same(released, { deleted: ['small_node-b'], kept: [] }, 'released once empty');
    t.notOk(nbctlNames('Logical_Switch').includes('small_node-b'), 'the switch is gone');
    t.notOk(nbctlNames('Logical_Router_Port').includes('omn-rtos-small_node-b'), 'its router port is gone');
    t.notOk(nbctlNames('Logical_Switch_Port').includes('omn-stor-small_node-b'), 'its router-type port is gone');
    t.same([...(await routerKeys('small_router')).values()], ['node-a'], "only node-a's subnet is left");
    t.ok(nbctlNames('Logical_Switch').includes('small_node-a'), "node-a's switch stays");
    const c = await ensureLayer3Switch(admin, 'small', 'small', net(['10.20.0.0/24'], 25), 'node-c', deadline());
    t.equal(c.externalIds.get(IpamKeys.subnets), '10.20.0.128/25', "a new node takes the freed subnet");
    t.same(await releaseLayer3Switches(admin, 'node-b', deadline()), { deleted: [], kept: [] }, 'run again: nothing to do');
  });
});
