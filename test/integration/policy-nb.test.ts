// The controller's NB side of MultiNetworkPolicies against a real ovsdb-server (daemon/policy/nb-sync.ts,
// attachments.ts, the controller's monitor in daemon/ovn/exposed.ts): a hand-made plan written and
// read back exactly; the same plan again writes nothing; a changed plan touches only the changed
// rows; stale owned rows go; an admin's port group, ACL and address set stay; ports not in the NB
// yet make the pass retry; a plan of 1,000 port groups goes in chunks. The controller's monitor
// holds only ovn-multinet's rows.
import t from 'tap';
import { modelClient } from '../../daemon/ovsdb/client.ts';
import { selectedRows } from '../../daemon/ovsdb/model.ts';
import { nbModel, type ACL, type AddressSet, type PortGroup } from '../../daemon/ovsdb/models/nb.ts';
import { eq, insert, mutate, mutation, select } from '../../daemon/ovsdb/ops.ts';
import { namedUuid, type Uuid } from '../../daemon/ovsdb/notation.ts';
import { CONTROLLER_NB_MONITOR, CONTROLLER_NB_SELECTION, type ControllerNbClient } from '../../daemon/ovn/exposed.ts';
import { asTargetIds, OWNER_VALUE, OwnerKeys, PolicyKeys, ScopeKeys } from '../../daemon/ovn/ids.ts';
import { attachmentsFromNb } from '../../daemon/policy/attachments.ts';
import { syncPolicyRows } from '../../daemon/policy/nb-sync.ts';
import type { PolicyPlan, WantedAcl, WantedAddressSet, WantedPortGroup } from '../../daemon/policy/model.ts';
import { NB_SCHEMA, startOvsdbServer, type Teardown } from '../helpers/ovsdb-server.ts';
import { pino } from 'pino';
import { loadKubeConfig } from '../../daemon/k8s/pods.ts';
import { ControllerCaches } from '../../daemon/controller/caches.ts';
import type { LeaderContext, NbView } from '../../daemon/controller/context.ts';
import { PolicyEnforcer, type PolicySources, type PolicySteps } from '../../daemon/controller/policies.ts';
import type { Policy, PolicyReport } from '../../daemon/policy/model.ts';
import { startFakeApiServer } from '../helpers/fake-apiserver.ts';
import { until } from '../helpers/until.ts';
import { NO_CONTROLLER_METRICS } from '../../daemon/metrics/controller-registry.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(20_000);

async function setUp(t: Teardown): Promise<{ admin: ControllerNbClient; controller: ControllerNbClient; switchUuid: Uuid; addPort: (name: string, ips: string[], ids?: Array<[string, string]>) => Promise<Uuid> }> {
  const { server } = await startOvsdbServer(t, NB_SCHEMA);
  const admin: ControllerNbClient = modelClient(nbModel, CONTROLLER_NB_MONITOR, { remotes: [server.unixRemote] });
  t.teardown(() => admin.close());
  admin.start();
  await admin.waitConnected(deadline());
  const controller: ControllerNbClient = modelClient(nbModel, CONTROLLER_NB_MONITOR, { remotes: [server.unixRemote], ...CONTROLLER_NB_SELECTION });
  t.teardown(() => controller.close());
  controller.start();
  await controller.waitConnected(deadline());
  const [sw] = await admin.transact([insert('Logical_Switch', { name: 'blue' })], deadline());
  const switchUuid = sw?.uuid;
  if (switchUuid === undefined) throw new Error('no switch uuid');
  let n = 10;
  const addPort = async (name: string, ips: string[], ids: Array<[string, string]> = []): Promise<Uuid> => {
    const mac = `0a:58:0a:00:00:${(n++).toString(16).padStart(2, '0')}`;
    const externalIds = new Map<string, string>([[OwnerKeys.owner, OWNER_VALUE], [ScopeKeys.switch, switchUuid], [OwnerKeys.podNamespace, 'ns'], [OwnerKeys.podName, name], [OwnerKeys.podUid, `uid-${name}`], ...ids]);
    const [r] = await admin.transact(
      [insert('Logical_Switch_Port', { name, addresses: ips.length === 0 ? [] : [[mac, ...ips].join(' ')], external_ids: externalIds }, 'p'), mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('ports', 'insert', [namedUuid('p')])])],
      deadline(),
    );
    if (r?.uuid === undefined) throw new Error('no port uuid');
    // In the controller's cache before the test goes on (its monitor is another session).
    await controller.cache.waitForRow('Logical_Switch_Port', (row) => row.name === name, deadline());
    return r.uuid;
  };
  return { admin, controller, switchUuid, addPort };
}

const acl = (key: string, priority: number, match: string, action: WantedAcl['action'] = 'allow-related', direction: WantedAcl['direction'] = 'to-lport'): WantedAcl => ({ key, direction, priority, match, action });
const pg = (name: string, ports: string[], acls: WantedAcl[], policy = 'ns/p'): WantedPortGroup => ({ name, ports, acls, externalIds: new Map([[PolicyKeys.policy, policy], [PolicyKeys.switchName, 'blue']]) });
const as = (name: string, addresses: string[]): WantedAddressSet => ({ name, addresses, externalIds: new Map([[PolicyKeys.peer, name], [PolicyKeys.switchName, 'blue']]) });
const plan = (groups: WantedPortGroup[], sets: WantedAddressSet[]): PolicyPlan => ({ portGroups: new Map(groups.map((g) => [g.name, g])), addressSets: new Map(sets.map((s) => [s.name, s])), reports: [] });

/** Everything of the three tables in the NB, read by select (not from a cache). */
async function readBack(nb: ControllerNbClient): Promise<{ groups: Map<string, Pick<PortGroup, '_uuid' | 'name' | 'ports' | 'acls' | 'external_ids'>>; sets: Map<string, Pick<AddressSet, '_uuid' | 'addresses' | 'external_ids'>>; acls: Map<Uuid, Pick<ACL, '_uuid' | 'priority' | 'direction' | 'match' | 'action' | 'external_ids'>>; portNames: Map<Uuid, string> }> {
  const [g, s, a, p] = await nb.transact([select('Port_Group', []), select('Address_Set', []), select('ACL', []), select('Logical_Switch_Port', [], ['_uuid', 'name'])], deadline());
  const groups = new Map(selectedRows<PortGroup, '_uuid' | 'name' | 'ports' | 'acls' | 'external_ids'>(g).map((r) => [r.name, r]));
  const sets = new Map(selectedRows<AddressSet, '_uuid' | 'name' | 'addresses' | 'external_ids'>(s).map((r) => [r.name, r]));
  const acls = new Map(selectedRows<ACL, '_uuid' | 'priority' | 'direction' | 'match' | 'action' | 'external_ids'>(a).map((r) => [r._uuid, r]));
  const portNames = new Map(selectedRows<{ _uuid: Uuid; name: string }, '_uuid' | 'name'>(p).map((r) => [r._uuid, r.name]));
  return { groups, sets, acls, portNames };
}

/** A port group as the NB has it, in the plan's words. */
function described(nb: Awaited<ReturnType<typeof readBack>>, name: string): unknown {
  const row = nb.groups.get(name);
  if (row === undefined) return undefined;
  return {
    ports: row.ports.map((uuid) => nb.portNames.get(uuid)).sort(),
    acls: row.acls
      .map((uuid) => nb.acls.get(uuid))
      .map((a) => (a === undefined ? 'missing' : { key: a.external_ids.get(PolicyKeys.acl), direction: a.direction, priority: a.priority, match: a.match, action: a.action, owner: a.external_ids.get(OwnerKeys.owner), policy: a.external_ids.get(PolicyKeys.policy) }))
      .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    ids: Object.fromEntries(row.external_ids),
  };
}

t.test('a plan written, read back, kept, changed, shrunk; an admin\'s rows untouched', async (t) => {
  const { admin, controller, switchUuid, addPort } = await setUp(t);
  await addPort('a', ['10.0.0.1']);
  await addPort('b', ['10.0.0.2', 'fd00::2']);
  await addPort('c', ['10.0.0.3']);
  // An admin's port, port group with an ACL, and address set, on the same switch.
  await admin.transact(
    [
      insert('Logical_Switch_Port', { name: 'admin-port', addresses: ['0a:58:0a:00:00:99 10.0.0.99'] }, 'ap'),
      mutate('Logical_Switch', [eq('_uuid', switchUuid)], [mutation('ports', 'insert', [namedUuid('ap')])]),
      insert('ACL', { priority: 1000, direction: 'to-lport', match: 'outport == @admin_pg && ip4', action: 'drop' }, 'aa'),
      insert('Port_Group', { name: 'admin_pg', ports: [namedUuid('ap')], acls: [namedUuid('aa')] }),
      insert('Address_Set', { name: 'admin_as', addresses: ['192.0.2.1'] }),
    ],
    deadline(),
  );
  const adminBefore = await readBack(admin);

  const first = plan(
    [
      pg('mnp_a', ['a', 'b'], [acl('deny', 2001, 'outport == @mnp_a && ip', 'drop'), acl('allow0', 2002, 'outport == @mnp_a && ip4.src == $mnp_peer'), acl('stateful', 2002, 'outport == @mnp_a && ip4 && ip6')]),
      pg('mnp_b', ['c'], [acl('deny', 2001, 'inport == @mnp_b && ip', 'drop', 'from-lport')], 'ns/q'),
    ],
    [as('mnp_peer', ['10.0.0.1', '10.0.0.2']), as('mnp_old', ['10.0.0.3'])],
  );
  const written = await syncPolicyRows(controller, first, deadline());
  t.same({ retry: written.retry, transactions: written.transactions }, { retry: false, transactions: 1 }, 'one transaction');
  let nb = await readBack(admin);
  t.same(described(nb, 'mnp_a'), {
    ports: ['a', 'b'],
    acls: [
      { key: 'allow0', direction: 'to-lport', priority: 2002, match: 'outport == @mnp_a && ip4.src == $mnp_peer', action: 'allow-related', owner: OWNER_VALUE, policy: 'ns/p' },
      { key: 'deny', direction: 'to-lport', priority: 2001, match: 'outport == @mnp_a && ip', action: 'drop', owner: OWNER_VALUE, policy: 'ns/p' },
      { key: 'stateful', direction: 'to-lport', priority: 2002, match: 'outport == @mnp_a && ip4 && ip6', action: 'allow-related', owner: OWNER_VALUE, policy: 'ns/p' },
    ],
    ids: { [PolicyKeys.policy]: 'ns/p', [PolicyKeys.switchName]: 'blue', [OwnerKeys.owner]: OWNER_VALUE },
  }, 'port group mnp_a read back exactly');
  t.same(described(nb, 'mnp_b'), {
    ports: ['c'],
    acls: [{ key: 'deny', direction: 'from-lport', priority: 2001, match: 'inport == @mnp_b && ip', action: 'drop', owner: OWNER_VALUE, policy: 'ns/q' }],
    ids: { [PolicyKeys.policy]: 'ns/q', [PolicyKeys.switchName]: 'blue', [OwnerKeys.owner]: OWNER_VALUE },
  }, 'port group mnp_b read back exactly');
  t.same([...(nb.sets.get('mnp_peer')?.addresses ?? [])].sort(), ['10.0.0.1', '10.0.0.2'], 'address set read back');
  t.same(Object.fromEntries(nb.sets.get('mnp_peer')?.external_ids ?? []), { [PolicyKeys.peer]: 'mnp_peer', [PolicyKeys.switchName]: 'blue', [OwnerKeys.owner]: OWNER_VALUE }, 'with its ids and the owner mark');
  t.same([...controller.cache.table('Port_Group').values()].map((r) => r.name).sort(), ['mnp_a', 'mnp_b'], "the controller's cache holds its own port groups, not the admin's");
  t.same([...controller.cache.table('Logical_Switch_Port').values()].map((r) => r.name).sort(), ['a', 'b', 'c'], "and ovn-multinet's ports only");

  const again = await syncPolicyRows(controller, first, deadline());
  t.same({ transactions: again.transactions, operations: again.operations }, { transactions: 0, operations: 0 }, 'the same plan again writes nothing');
  const unchanged = await readBack(admin);
  t.same([...unchanged.acls.keys()].sort(), [...nb.acls.keys()].sort(), 'every ACL keeps its row');

  // One address set's addresses and one ACL's match change.
  const changed = plan(
    [
      pg('mnp_a', ['a', 'b'], [acl('deny', 2001, 'outport == @mnp_a && ip', 'drop'), acl('allow0', 2002, 'outport == @mnp_a && ip4.src == $mnp_peer && tcp.dst == 80'), acl('stateful', 2002, 'outport == @mnp_a && ip4 && ip6')]),
      pg('mnp_b', ['c'], [acl('deny', 2001, 'inport == @mnp_b && ip', 'drop', 'from-lport')], 'ns/q'),
    ],
    [as('mnp_peer', ['10.0.0.1', '10.0.0.3']), as('mnp_old', ['10.0.0.3'])],
  );
  const update = await syncPolicyRows(controller, changed, deadline());
  t.same({ transactions: update.transactions, operations: update.operations }, { transactions: 1, operations: 2 }, 'two operations: the set and the ACL');
  const after = await readBack(admin);
  t.same([...(after.sets.get('mnp_peer')?.addresses ?? [])].sort(), ['10.0.0.1', '10.0.0.3'], 'the set holds the new addresses');
  t.equal(after.sets.get('mnp_peer')?._uuid, nb.sets.get('mnp_peer')?._uuid, 'in the same row');
  t.same([...after.acls.keys()].sort(), [...nb.acls.keys()].sort(), 'the changed ACL is updated in place; no ACL row is new or gone');
  const allow = [...after.acls.values()].find((a) => a.external_ids.get(PolicyKeys.acl) === 'allow0');
  t.equal(allow?.match, 'outport == @mnp_a && ip4.src == $mnp_peer && tcp.dst == 80', 'with its new match');
  t.equal(after.groups.get('mnp_a')?._uuid, nb.groups.get('mnp_a')?._uuid, 'the port groups keep their rows');
  t.equal(after.groups.get('mnp_b')?._uuid, nb.groups.get('mnp_b')?._uuid);

  // A port leaves, an ACL goes, a port group and an address set are stale.
  const shrunk = plan([pg('mnp_a', ['a'], [acl('deny', 2001, 'outport == @mnp_a && ip', 'drop'), acl('stateful', 2002, 'outport == @mnp_a && ip4 && ip6')])], [as('mnp_peer', ['10.0.0.1', '10.0.0.3'])]);
  await syncPolicyRows(controller, shrunk, deadline());
  nb = await readBack(admin);
  t.same([...nb.groups.keys()].sort(), ['admin_pg', 'mnp_a'], 'the stale port group is gone');
  t.same([...nb.sets.keys()].sort(), ['admin_as', 'mnp_peer'], 'the stale address set is gone');
  t.same((described(nb, 'mnp_a') as { ports: string[] }).ports, ['a'], 'the port left');
  t.same([...nb.acls.values()].filter((a) => a.external_ids.get(OwnerKeys.owner) === OWNER_VALUE).map((a) => a.external_ids.get(PolicyKeys.acl)).sort(), ['deny', 'stateful'], 'the stale ACLs are garbage-collected');

  // An admin who put an ACL of theirs on our port group: it stays, as do all their rows.
  await admin.transact([insert('ACL', { priority: 900, direction: 'to-lport', match: 'outport == @mnp_a && udp', action: 'allow' }, 'x'), mutate('Port_Group', [eq('name', 'mnp_a')], [mutation('acls', 'insert', [namedUuid('x')])])], deadline());
  const empty = await syncPolicyRows(controller, plan([pg('mnp_a', ['a'], [acl('deny', 2001, 'outport == @mnp_a && ip', 'drop'), acl('stateful', 2002, 'outport == @mnp_a && ip4 && ip6')])], [as('mnp_peer', ['10.0.0.1', '10.0.0.3'])]), deadline());
  t.equal(empty.transactions, 0, "an admin's ACL on our port group is not ours to remove");
  nb = await readBack(admin);
  t.equal(nb.groups.get('mnp_a')?.acls.length, 3, 'it stays on the port group');

  await syncPolicyRows(controller, plan([], []), deadline());
  nb = await readBack(admin);
  t.same([...nb.groups.keys()], ['admin_pg'], "a plan of nothing leaves only the admin's port group");
  t.same([...nb.sets.keys()], ['admin_as'], "and the admin's address set");
  t.same(nb.groups.get('admin_pg'), adminBefore.groups.get('admin_pg'), "the admin's port group is as it was");
  t.same(nb.sets.get('admin_as'), adminBefore.sets.get('admin_as'), "the admin's address set too");
  const adminAcl = [...adminBefore.acls.values()][0];
  t.same(adminAcl === undefined ? undefined : nb.acls.get(adminAcl._uuid), adminAcl, "and the admin's ACL");
});

t.test('ports not in the NB yet: left out, retry', async (t) => {
  const { admin, controller, addPort } = await setUp(t);
  await addPort('a', ['10.0.0.1']);
  // A port named twice is in once.
  const wanted = plan([pg('mnp_a', ['a', 'a', 'later'], [acl('deny', 2001, 'outport == @mnp_a && ip', 'drop')])], []);
  const first = await syncPolicyRows(controller, wanted, deadline());
  t.same({ retry: first.retry, missing: first.missingPorts }, { retry: true, missing: ['later'] }, 'the pass says retry and names the port');
  let nb = await readBack(admin);
  t.same((described(nb, 'mnp_a') as { ports: string[] }).ports, ['a'], 'the known port is in');
  await addPort('later', ['10.0.0.2']);
  const second = await syncPolicyRows(controller, wanted, deadline());
  t.same({ retry: second.retry, operations: second.operations }, { retry: false, operations: 1 }, 'once it comes, one mutate adds it');
  nb = await readBack(admin);
  t.same((described(nb, 'mnp_a') as { ports: string[] }).ports, ['a', 'later'], 'both ports are in');
});

t.test("a name someone else's row holds: only that port group is left out", async (t) => {
  const { admin, controller, addPort } = await setUp(t);
  await addPort('a', ['10.0.0.1']);
  await admin.transact([insert('Port_Group', { name: 'mnp_clash' })], deadline());
  const wanted = plan([pg('mnp_ok', ['a'], [acl('deny', 2001, 'outport == @mnp_ok && ip', 'drop')]), pg('mnp_clash', ['a'], [acl('deny', 2001, 'outport == @mnp_clash && ip', 'drop')])], [as('mnp_set', ['10.0.0.1'])]);
  const result = await syncPolicyRows(controller, wanted, deadline());
  t.equal(result.retry, true, 'the pass retries');
  t.equal(result.failures.length, 1, 'one group refused');
  t.match(result.failures[0], /constraint violation/, 'by the unique name');
  const nb = await readBack(admin);
  t.same((described(nb, 'mnp_ok') as { ports: string[] }).ports, ['a'], 'the other port group is written');
  t.ok(nb.sets.has('mnp_set'), 'and the address set');
  t.same(nb.groups.get('mnp_clash')?.acls, [], "the other owner's row is untouched");
});

t.test('attachments from the NB', async (t) => {
  const { controller, addPort } = await setUp(t);
  await addPort('plain', ['10.0.0.1', '10.0.0.1/24', 'fd00::1']);
  await addPort('bare', []);
  const target = asTargetIds(new Map([[OwnerKeys.owner, OWNER_VALUE], [OwnerKeys.containerId, 'c2'], [OwnerKeys.ifName, 'net1'], [OwnerKeys.podNamespace, 'vms'], [OwnerKeys.podName, 'virt-launcher-2'], [OwnerKeys.podUid, 'uid-2']]));
  await addPort('migrating', ['10.0.0.5'], [[OwnerKeys.podNamespace, 'vms'], [OwnerKeys.podName, 'virt-launcher-1'], [OwnerKeys.podUid, 'uid-1'], [OwnerKeys.ipamClaim, 'vms/vm'], ...target]);
  await addPort('ipam-mode', [], [[OwnerKeys.ipamOnly, '10.0.0.7 fd00::7']]);
  await addPort('no-pod', ['10.0.0.8'], [[OwnerKeys.podName, '']]);
  await addPort('elsewhere', ['10.0.0.9'], [[ScopeKeys.switch, '00000000-0000-0000-0000-000000000001']]);
  t.same(attachmentsFromNb(controller), [
    { port: 'bare', switchName: 'blue', pods: [{ namespace: 'ns', name: 'bare', uid: 'uid-bare' }], ips: [], ipamOnly: false },
    { port: 'ipam-mode', switchName: 'blue', pods: [{ namespace: 'ns', name: 'ipam-mode', uid: 'uid-ipam-mode' }], ips: ['10.0.0.7', 'fd00::7'], ipamOnly: true },
    { port: 'migrating', switchName: 'blue', pods: [{ namespace: 'vms', name: 'virt-launcher-1', uid: 'uid-1' }, { namespace: 'vms', name: 'virt-launcher-2', uid: 'uid-2' }], ips: ['10.0.0.5'], ipamOnly: false },
    { port: 'plain', switchName: 'blue', pods: [{ namespace: 'ns', name: 'plain', uid: 'uid-plain' }], ips: ['10.0.0.1', 'fd00::1'], ipamOnly: false },
  ], 'each port with its pods, IPs and mode; no pod or no known switch: left out');
});

t.test('a plan of 1,000 port groups, in chunks', async (t) => {
  const { admin, controller, addPort } = await setUp(t);
  const ports: string[] = [];
  for (let i = 0; i < 20; i++) ports.push(`p${i}`);
  for (const name of ports) await addPort(name, [`10.0.1.${ports.indexOf(name) + 1}`]);
  const groups = Array.from({ length: 1000 }, (_, i) => pg(`mnp_${i}`, [ports[i % ports.length]!], [acl('deny', 2001, `outport == @mnp_${i} && ip`, 'drop'), acl('stateful', 2002, `outport == @mnp_${i} && ip4 && ip6`)], `ns/p${i}`));
  const sets = Array.from({ length: 100 }, (_, i) => as(`mnp_set_${i}`, [`10.0.2.${i}`]));
  const big = plan(groups, sets);
  const written = await syncPolicyRows(controller, big, deadline());
  t.same({ retry: written.retry, transactions: written.transactions, operations: written.operations }, { retry: false, transactions: 4, operations: 3100 }, '3,100 operations in 4 transactions');
  const nb = await readBack(admin);
  t.equal(nb.groups.size, 1000, 'every port group is there');
  t.equal(nb.acls.size, 2000, 'with its two ACLs');
  t.equal(nb.sets.size, 100, 'and every address set');
  t.same(described(nb, 'mnp_997'), {
    ports: ['p17'],
    acls: [
      { key: 'deny', direction: 'to-lport', priority: 2001, match: 'outport == @mnp_997 && ip', action: 'drop', owner: OWNER_VALUE, policy: 'ns/p997' },
      { key: 'stateful', direction: 'to-lport', priority: 2002, match: 'outport == @mnp_997 && ip4 && ip6', action: 'allow-related', owner: OWNER_VALUE, policy: 'ns/p997' },
    ],
    ids: { [PolicyKeys.policy]: 'ns/p997', [PolicyKeys.switchName]: 'blue', [OwnerKeys.owner]: OWNER_VALUE },
  }, 'one of the last read back exactly');
  t.equal((await syncPolicyRows(controller, big, deadline())).transactions, 0, 'again: nothing');
  const gone = await syncPolicyRows(controller, plan([], []), deadline());
  t.equal(gone.operations, 1100, 'removed: one delete per row of the root tables');
  const empty = await readBack(admin);
  t.same([empty.groups.size, empty.acls.size, empty.sets.size], [0, 0, 0], 'nothing is left');
});

/** Stands for parse.ts's PolicySpecError. */
class InvalidSpec extends Error {}

t.test('the leader loop: plans from the NB, writes, follows port changes, reports', async (t) => {
  const { admin, controller, addPort } = await setUp(t);
  await addPort('a', ['10.0.0.1']);
  const api = await startFakeApiServer(t);
  const kubeConfig = loadKubeConfig(api.kubeconfig, {});
  if (kubeConfig === undefined) throw new Error('no kubeconfig');
  const log = pino({ level: 'silent' });
  const caches = new ControllerCaches(kubeConfig, log, 100);
  const view: NbView = { ready: true, switchState: () => 'missing', marked: () => [], onChange: () => () => undefined };
  const ctx: LeaderContext = { kubeConfig, caches, nb: view, nbClient: controller, log, resyncMs: 60_000, nbFlags: { nbDb: ['unix:/nonexistent'], nbTls: undefined, dbInactivityProbeMs: 4500 }, deadNodeGraceMs: 300_000, events: { record: () => undefined }, networkLowThreshold: 90, metrics: NO_CONTROLLER_METRICS };
  // Stand-ins for the caches, parse.ts and plan.ts: one port group per valid policy, of every attachment on its switch.
  const raw: unknown[] = [{ metadata: { namespace: 'ns', name: 'good', uid: 'u1', generation: 1 } }, { metadata: { namespace: 'ns', name: 'bad', uid: 'u2', generation: 3 } }];
  const sources: PolicySources = { synced: true, policies: () => raw, pods: () => [], namespaces: () => [], nadTarget: () => ({ kind: 'switch', switchName: 'blue' }), onChange: () => () => undefined };
  const reported: PolicyReport[][] = [];
  const steps: PolicySteps = {
    parse: (r) => {
      const meta = (r as { metadata: { namespace: string; name: string; uid: string; generation: number } }).metadata;
      if (meta.name === 'bad') throw new InvalidSpec('spec.podSelector: not a selector');
      const policy: Policy = { ...meta, networks: [{ namespace: 'ns', name: 'blue' }], podSelector: { matchLabels: new Map(), matchExpressions: [] }, policyTypes: ['ingress'], ingress: [], egress: [] };
      return policy;
    },
    isSpecError: (err) => err instanceof InvalidSpec,
    plan: (input) => {
      const groups = input.policies.map((p) => pg(`mnp_${p.name}`, input.attachments.map((a) => a.port), [acl('deny', 2001, `outport == @mnp_${p.name} && ip`, 'drop')], `${p.namespace}/${p.name}`));
      return { ...plan(groups, []), reports: input.policies.map((p) => ({ namespace: p.namespace, name: p.name, uid: p.uid, generation: p.generation, enforced: true, problems: [] })) };
    },
    report: async (reports) => {
      reported.push([...reports]);
    },
  };
  const loop = new PolicyEnforcer(ctx, sources, steps);
  const abort = new AbortController();
  t.teardown(async () => {
    abort.abort();
    await loop.stop();
  });
  loop.start(abort.signal);
  const portsOf = async (): Promise<string[] | undefined> => {
    const nb = await readBack(admin);
    return (described(nb, 'mnp_good') as { ports: string[] } | undefined)?.ports;
  };
  t.same(await until('the port group', async () => ((await portsOf())?.length === 1 ? portsOf() : undefined)), ['a'], 'the first pass writes the port group');
  t.same(reported.at(-1)?.map((r) => [r.name, r.enforced, r.problems.length]), [['bad', false, 1], ['good', true, 0]], 'every policy reported, the invalid one as not enforced');
  t.match(reported.at(-1)?.[0]?.problems[0], /spec\.podSelector/, 'with the parse error');
  t.equal((await readBack(admin)).groups.has('mnp_bad'), false, 'an invalid policy gets no rows');
  await addPort('b', ['10.0.0.2']);
  t.same(await until('port b in the group', async () => ((await portsOf())?.length === 2 ? portsOf() : undefined)), ['a', 'b'], 'a new port wakes the loop (an NB change), without a resync');
  raw.length = 0;
  const passes = reported.length;
  await admin.transact([insert('Logical_Switch_Port', { name: 'nudge', external_ids: new Map([[OwnerKeys.owner, OWNER_VALUE]]) })], deadline());
  await until('the stale port group gone', async () => ((await readBack(admin)).groups.has('mnp_good') ? undefined : true));
  t.ok(reported.length > passes, 'the policy gone: its rows removed on the next pass');
});
