// NamespacedNetworks (issue 23, item 1): a namespace owner's own network. The controller (dist/,
// as it runs) accepts the spec, writes a NAD of the same name in that namespace only and the
// status; the daemon (strict network access, real OVS/OVN) serves pods of that namespace on the
// derived switch omn-tenant/<namespace>/<name> and refuses every other namespace with 104,
// leaving nothing behind. Two namespaces with the same name and subnet get two switches, whose
// pods get addresses independently and do not reach each other. A subnet that overlaps the
// admin's --tenant-excluded-subnets is refused in the status, naming the field. Deleting it while
// a pod runs keeps the switch (status: waiting for 1 port) until the pod's DEL, then the switch,
// the NAD and the object are gone.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome } from '../helpers/node.ts';
import { nodeState } from '../helpers/leftovers.ts';
import { startController } from '../helpers/controller.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer, type FakeApi, type KubeObject } from '../helpers/fake-apiserver.ts';
import { ping } from '../helpers/traffic.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();

type Cond = { type: string; status: string; reason: string; message: string; observedGeneration: number };
const conditionsOf = (o: KubeObject | undefined): Cond[] => (((o?.['status'] ?? {}) as Record<string, unknown>)['conditions'] ?? []) as Cond[];
/** Waits until the NamespacedNetwork's condition `type` has `reason`. */
const conditionIs = (api: FakeApi, namespace: string, name: string, type: string, reason: string): Promise<Cond> =>
  until(`${namespace}/${name} ${type} ${reason}`, async () => conditionsOf(await api.get('namespacednetworks', namespace, name)).find((c) => c.type === type && c.reason === reason), 15_000);

const createNetwork = (api: FakeApi, namespace: string, name: string, spec: Record<string, unknown>): Promise<KubeObject> =>
  api.apply('namespacednetworks', { metadata: { namespace, name }, spec });

const switchNames = async (sandbox: { nbctl(args: string[]): Promise<string> }): Promise<string[]> =>
  (await sandbox.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch'])).split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();

t.test('NamespacedNetworks: controller, daemon and real OVN', { skip }, async (t) => {
  // A Kubernetes node name, as a layer3 node switch is named after it.
  const sandbox = await startSandbox({ netns: true, t, name: 'nsnet-node' });
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  for (const name of ['team-a', 'team-b', 'team-c']) await api.upsertNamespace({ name });
  // An admin's switch and Network, to show a tenant cannot reach it and it cannot reach theirs.
  await sandbox.nbctl(['ls-add', 'admin-net', '--', 'set', 'logical_switch', 'admin-net', 'other_config:subnet=10.90.0.0/24']);
  await api.upsertNetwork({ name: 'admin-net', logicalSwitch: 'admin-net', namespaceSelector: { matchLabels: { admin: 'yes' } } });
  const controller = startController(t, { netns: sandbox.env.SANDBOX_NETNS, kubeconfig: api.kubeconfig, nbDb: sandbox.env.NB_DB, api, extraArgs: ['--tenant-excluded-subnets', '10.96.0.0/12,10.244.0.0/16'] });
  await controller.leading();
  let daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });
  const whole = t;

  let pods = 0;
  interface Pod { ns: Netns; out: CniOutcome; del: () => Promise<CniOutcome>; again: () => Promise<CniOutcome> }
  /** ADD of a new pod of `namespace` with `config` (the daemon's socket added); DEL at teardown unless done before. */
  const add = async (t: Test, namespace: string, config: Record<string, unknown>): Promise<Pod> => {
    const name = `pod-${++pods}`;
    await api.upsert({ namespace, name, uid: `uid-${name}`, nodeName: daemon.nodeName });
    const ns = await createNetns(t);
    const call = { containerId: `nsnet-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}` };
    const full = { ...config, socket: daemon.socket };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, full);
    const del = (): Promise<CniOutcome> => runCni(sandbox, { command: 'DEL', ...call }, full);
    const again = (): Promise<CniOutcome> => runCni(sandbox, { command: 'ADD', ...call }, full);
    if (out.exitCode === 0) t.teardown(del);
    return { ns, out, del, again };
  };
  const nadConfig = async (namespace: string, name: string): Promise<Record<string, unknown>> =>
    JSON.parse(String(((await api.get('network-attachment-definitions', namespace, name))?.['spec'] as Record<string, unknown>)['config'])) as Record<string, unknown>;
  /** Refused with 104 and `msg`; nothing made on the node or in the NB. */
  const refused = async (t: Test, namespace: string, config: Record<string, unknown>, msg: RegExp, details?: RegExp): Promise<void> => {
    const before = await nodeState(sandbox);
    const pod = await add(t, namespace, config);
    t.equal(pod.out.exitCode, 1, pod.out.stdout);
    t.equal(pod.out.json?.['code'], 104, pod.out.stdout);
    t.match(pod.out.json?.['msg'], msg);
    if (details !== undefined) t.match(pod.out.json?.['details'], details);
    t.same(await nodeState(sandbox), before, 'nothing made: no switch, logical switch port, address guard, br-int port or veth');
    t.same((await pod.ns.exec(['ls', '/sys/class/net'])).split(/\s+/).filter((l) => l !== ''), ['lo'], 'no interface in the pod');
  };

  const spec = { topology: 'layer2', subnets: ['10.80.0.0/24'], excludeSubnets: ['10.80.0.128/25'], mtu: 1400 };

  await t.test('created in team-a: accepted, its NAD in team-a only, a pod of team-a attaches', async (t) => {
    await createNetwork(api, 'team-a', 'blue', spec);
    const accepted = await conditionIs(api, 'team-a', 'blue', 'Accepted', 'Accepted');
    t.equal(accepted.status, 'True');
    t.equal(accepted.observedGeneration, 1);
    t.match(accepted.message, 'logical switch omn-tenant/team-a/blue');
    await conditionIs(api, 'team-a', 'blue', 'Ready', 'NetworkAttachmentDefinitionReady');
    const nads = (await api.list('network-attachment-definitions')).filter((n) => n.metadata.name === 'blue');
    t.same(nads.map((n) => n.metadata.namespace), ['team-a'], 'a NAD in its own namespace only');
    const nad = nads[0];
    t.equal(nad?.metadata.labels?.['app.kubernetes.io/managed-by'], 'ovn-multinet-controller');
    t.equal(nad?.metadata.labels?.['ovn-multinet.io/namespaced-network'], 'blue');
    const object = await api.get('namespacednetworks', 'team-a', 'blue');
    t.match(nad?.metadata.ownerReferences, [{ apiVersion: 'ovn-multinet.io/v1', kind: 'NamespacedNetwork', name: 'blue', uid: object?.metadata.uid, controller: true }]);
    t.same(object?.metadata['finalizers'], ['ovn-multinet.io/logical-switch'], 'the finalizer');
    const config = await nadConfig('team-a', 'blue');
    t.match(config, { name: 'blue', type: 'ovn-multinet', logicalSwitch: 'omn-tenant/team-a/blue', topology: 'layer2', subnets: ['10.80.0.0/24'], mtu: 1400 });
    const a1 = await add(t, 'team-a', config);
    t.equal(a1.out.exitCode, 0, a1.out.stdout);
    t.match(a1.out.json, { ips: [{ address: '10.80.0.2/24' }] });
    t.match(await a1.ns.exec(['ip', '-o', 'link', 'show', 'net1']), /mtu 1400/);
    t.ok((await switchNames(sandbox)).includes('omn-tenant/team-a/blue'), 'the switch was made on first ADD');
    const twice = await a1.again();
    t.equal(twice.stdout, a1.out.stdout, 'ADD twice: the same result');
  });

  await t.test('a daemon restart: the index comes back from the list', async (t) => {
    await daemon.stop();
    // Kept for the later subtests: stopped at the end of the whole test.
    daemon = await startDaemon(whole, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });
    const config = await nadConfig('team-a', 'blue');
    const ok = await add(t, 'team-a', config);
    t.equal(ok.out.exitCode, 0, ok.out.stdout);
    await refused(t, 'team-b', config, /^logicalSwitch: no Network admits namespace team-b/);
  });

  await t.test('a pod of another namespace can never attach: 104, nothing left', async (t) => {
    const config = await nadConfig('team-a', 'blue');
    await refused(t, 'team-b', config, /^logicalSwitch: no Network admits namespace team-b on logical switch "omn-tenant\/team-a\/blue"/, /NamespacedNetwork team-a\/blue: it admits its own namespace team-a alone/);
    // The same namespace with another definition: the field is named.
    await refused(t, 'team-a', { ...config, subnets: ['10.81.0.0/24'], excludeSubnets: undefined }, /^subnets: not given to namespace team-a/, /NamespacedNetwork team-a\/blue: subnets: the Network has \["10\.80\.0\.0\/24"\]/);
    // Neither reaches the admin's switch, nor a switch of the tenant prefix no NamespacedNetwork covers.
    await refused(t, 'team-a', { ...config, logicalSwitch: 'admin-net', topology: undefined, subnets: undefined, excludeSubnets: undefined }, /^logicalSwitch: no Network admits namespace team-a on logical switch "admin-net"/);
    await refused(t, 'team-a', { ...config, logicalSwitch: 'omn-tenant/team-a/other' }, /^logicalSwitch: no Network admits namespace team-a on logical switch "omn-tenant\/team-a\/other"/, /no Network covers the switch/);
  });

  await t.test('a cluster Network never covers a tenant switch', async (t) => {
    await api.upsertNetwork({ name: 'grab', config: { logicalSwitch: 'omn-tenant/team-a/blue', ...spec }, namespaceSelector: {} });
    const o = await until('Network grab refused', async () => conditionsOf(await api.get('networks', undefined, 'grab')).find((c) => c.type === 'Accepted' && c.status === 'False'), 15_000);
    t.equal(o.reason, 'InvalidSpec');
    t.match(o.message, /^spec\.config\.logicalSwitch: omn-tenant\/ starts the switches of NamespacedNetworks/);
    t.same((await api.list('network-attachment-definitions')).filter((n) => n.metadata.name === 'grab'), [], 'no NAD');
    await refused(t, 'team-c', { ...(await nadConfig('team-a', 'blue')), name: 'grab' }, /^logicalSwitch: no Network admits namespace team-c/);
    await api.deleteCluster('networks', 'grab');
  });

  await t.test('the same name and subnet in team-b: a switch of its own, addresses independent, no traffic between', async (t) => {
    await createNetwork(api, 'team-b', 'blue', spec);
    await conditionIs(api, 'team-b', 'blue', 'Ready', 'NetworkAttachmentDefinitionReady');
    const configB = await nadConfig('team-b', 'blue');
    t.equal(configB['logicalSwitch'], 'omn-tenant/team-b/blue');
    const b1 = await add(t, 'team-b', configB);
    t.equal(b1.out.exitCode, 0, b1.out.stdout);
    t.match(b1.out.json, { ips: [{ address: '10.80.0.2/24' }] }, "the same first address as team-a's pod: separate allocation");
    // team-a's first pod (10.80.0.2) was deleted with its subtest; its next addresses are .3 and .4.
    const a2 = await add(t, 'team-a', await nadConfig('team-a', 'blue'));
    const a3 = await add(t, 'team-a', await nadConfig('team-a', 'blue'));
    t.match([a2.out.json, a3.out.json], [{ ips: [{ address: '10.80.0.3/24' }] }, { ips: [{ address: '10.80.0.4/24' }] }]);
    const b2 = await add(t, 'team-b', configB);
    await add(t, 'team-b', configB);
    const b4 = await add(t, 'team-b', configB);
    t.match(b4.out.json, { ips: [{ address: '10.80.0.5/24' }] }, 'team-b has a fourth pod; team-a has no 10.80.0.5');
    const names = await switchNames(sandbox);
    t.ok(names.includes('omn-tenant/team-a/blue') && names.includes('omn-tenant/team-b/blue'), 'two switches');
    t.ok(await ping(a2.ns, '10.80.0.4'), 'team-a pods reach each other');
    t.ok(await ping(b2.ns, '10.80.0.5'), 'team-b pods reach each other');
    t.notOk(await ping(a2.ns, '10.80.0.5'), "team-a's pod does not reach team-b's 10.80.0.5");
  });

  await t.test("a subnet the admin excludes is refused, naming the field; no NAD", async (t) => {
    await createNetwork(api, 'team-c', 'svc', { topology: 'layer2', subnets: ['10.100.0.0/24'] });
    const accepted = await conditionIs(api, 'team-c', 'svc', 'Accepted', 'ExcludedSubnet');
    t.equal(accepted.status, 'False');
    t.equal(accepted.message, 'spec.subnets[0]: 10.100.0.0/24 overlaps 10.96.0.0/12, which the cluster admin keeps from NamespacedNetworks (--tenant-excluded-subnets)');
    t.equal(await api.get('network-attachment-definitions', 'team-c', 'svc'), undefined, 'no NAD');
    // A hand-written NAD with that definition is refused too: the daemon waits for the controller's acceptance.
    await refused(t, 'team-c', { cniVersion: '1.0.0', name: 'svc', type: 'ovn-multinet', logicalSwitch: 'omn-tenant/team-c/svc', topology: 'layer2', subnets: ['10.100.0.0/24'] }, /^logicalSwitch: no Network admits namespace team-c/);
    await createNetwork(api, 'team-c', 'phys', { topology: 'localnet' });
    const invalid = await conditionIs(api, 'team-c', 'phys', 'Accepted', 'InvalidSpec');
    t.match(invalid.message, /^spec\.topology: localnet/);
  });

  await t.test('layer3: a node switch behind a router; deleted while a pod runs, router and node switch go after the DEL', async (t) => {
    await createNetwork(api, 'team-c', 'routed', { topology: 'layer3', subnets: ['10.84.0.0/16'], hostSubnetLength: 26 });
    await conditionIs(api, 'team-c', 'routed', 'Ready', 'NetworkAttachmentDefinitionReady');
    const config = await nadConfig('team-c', 'routed');
    t.match(config, { logicalSwitch: 'omn-tenant/team-c/routed', topology: 'layer3', hostSubnetLength: 26 });
    const pod = await add(t, 'team-c', config);
    t.equal(pod.out.exitCode, 0, pod.out.stdout);
    t.match(pod.out.json, { ips: [{ address: /^10\.84\.0\.\d+\/26$/, gateway: '10.84.0.1' }], routes: [{ dst: '10.84.0.0/16', gw: '10.84.0.1' }] });
    const nodeSwitch = `omn-tenant/team-c/routed_${daemon.nodeName}`;
    const routers = async (): Promise<string> => sandbox.nbctl(['--bare', '--columns=name', 'list', 'Logical_Router']);
    t.ok((await switchNames(sandbox)).includes(nodeSwitch), 'the node switch');
    t.match(await routers(), 'omn-tenant/team-c/routed_router');
    await api.deleteObject('namespacednetworks', 'team-c', 'routed');
    await conditionIs(api, 'team-c', 'routed', 'Ready', 'WaitingForPorts');
    t.ok((await switchNames(sandbox)).includes(nodeSwitch), 'the node switch is kept while the pod runs');
    t.equal((await pod.del()).exitCode, 0);
    await until('the node switch deleted', async () => ((await switchNames(sandbox)).includes(nodeSwitch) ? undefined : true), 15_000);
    await until('the router deleted', async () => ((await routers()).includes('omn-tenant/team-c/routed_router') ? undefined : true), 15_000);
    await until('the object gone (finalizer removed)', async () => ((await api.get('namespacednetworks', 'team-c', 'routed')) === undefined ? true : undefined), 15_000);
    t.equal(await sandbox.nbctl(['--bare', '--columns=name', 'list', 'Logical_Router_Port']), '', 'no router port left');
  });

  await t.test('deleted while a pod runs: the switch stays until the DEL, then switch, NAD and object go', async (t) => {
    await createNetwork(api, 'team-c', 'short', { topology: 'layer2', subnets: ['10.82.0.0/24'] });
    await conditionIs(api, 'team-c', 'short', 'Ready', 'NetworkAttachmentDefinitionReady');
    const pod = await add(t, 'team-c', await nadConfig('team-c', 'short'));
    t.equal(pod.out.exitCode, 0, pod.out.stdout);
    await api.deleteObject('namespacednetworks', 'team-c', 'short');
    const waiting = await conditionIs(api, 'team-c', 'short', 'Ready', 'WaitingForPorts');
    t.equal(waiting.message, 'deleting: waiting for 1 port on logical switch omn-tenant/team-c/short to go');
    await until('its NAD deleted', async () => ((await api.get('network-attachment-definitions', 'team-c', 'short')) === undefined ? true : undefined), 15_000);
    t.ok((await switchNames(sandbox)).includes('omn-tenant/team-c/short'), 'the switch is kept while the pod runs');
    const del = await pod.del();
    t.equal(del.exitCode, 0, del.stdout);
    t.equal((await pod.del()).exitCode, 0, 'DEL again: already gone, success');
    await until('the switch deleted', async () => ((await switchNames(sandbox)).includes('omn-tenant/team-c/short') ? undefined : true), 15_000);
    await until('the object gone (finalizer removed)', async () => ((await api.get('namespacednetworks', 'team-c', 'short')) === undefined ? true : undefined), 15_000);
    t.pass('switch, NAD and object gone');
  });
});
