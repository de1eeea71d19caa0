// npm run demo:networks (scripts/demo-networks.sh runs it, as root, after the set-up): layer3 and
// namespaced networks on two OVN nodes on one machine (issue 23).
//
//   1. Two OVN nodes (node-a, node-b: a netns each, geneve between them), a daemon on each, a
//      fake Kubernetes API server and the controller (dist/ovn-multinetd controller).
//   2. The admin's layer3 Network for namespace demo: a pod per node, each in its node's /24,
//      pinging across the nodes through the network's router.
//   3. Self-service: team-a and team-b each make a NamespacedNetwork "private" with the same
//      subnet; team-a's pods reach each other, team-b's pod does not reach them, and a team-b pod
//      trying team-a's switch is refused with code 104.
//   4. Tear-down: DEL everything, delete the NamespacedNetworks, check that nothing is left.
// It reuses the e2e helpers (test/helpers/): the same nodes, daemons and API server as the tests.
import { existsSync } from 'node:fs';
import { createNetns, type Netns, type Teardown } from '../test/helpers/netns.ts';
import { e2eSkipReason, type CniCall, type CniOutcome } from '../test/helpers/node.ts';
import type { ClusterNode, TwoNodes } from '../test/helpers/two-nodes.ts';
import type { FakeApi, KubeObject } from '../test/helpers/fake-apiserver.ts';
import { startApiNodes } from '../test/helpers/api-nodes.ts';
import { startController } from '../test/helpers/controller.ts';
import { nodeState } from '../test/helpers/leftovers.ts';
import { pingOnce } from '../test/helpers/traffic.ts';
import { until } from '../test/helpers/until.ts';

const LAYER3 = { topology: 'layer3', subnets: ['10.128.0.0/16'], hostSubnetLength: 24 };
const PRIVATE = { topology: 'layer2', subnets: ['10.50.0.0/24'] };
const TENANT_PREFIX = 'omn-tenant/';

/** Clean-up in reverse order of set-up, as a test's teardown. */
const cleanups: Array<() => unknown> = [];
const t: Teardown = { teardown: (fn) => void cleanups.push(fn) };
async function cleanUp(): Promise<void> {
  for (let fn = cleanups.pop(); fn !== undefined; fn = cleanups.pop()) {
    try {
      await fn();
    } catch (err) {
      console.error(`clean-up: ${String(err)}`);
    }
  }
}

let failed = 0;
const say = (text: string): void => console.log(`\n\x1b[1m== ${text}\x1b[0m`);
const shell = (text: string): void => console.log(`$ ${text}`);
function check(ok: boolean, what: string): void {
  console.log(ok ? `ok: ${what}` : `FAILED: ${what}`);
  if (!ok) failed += 1;
}
/** ': a b c' after a check's text when something is listed, else nothing. */
const listed = (items: readonly string[]): string => (items.length === 0 ? '' : `: ${items.join(' ')}`);
const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => l !== '');

async function nbctl(nodes: TwoNodes, args: readonly string[]): Promise<string> {
  shell(`ovn-nbctl ${args.join(' ')}`);
  const out = await nodes.nbctl(args);
  if (out !== '') console.log(out);
  return out;
}

async function inPod(pod: Pod, args: readonly string[]): Promise<string> {
  shell(`ip netns exec ${pod.ns.name} ${args.join(' ')}`);
  const out = await pod.ns.exec(args);
  console.log(out);
  return out;
}

interface Pod {
  namespace: string;
  name: string;
  node: ClusterNode;
  ns: Netns;
  call: CniCall;
  config: Record<string, unknown>;
  add: CniOutcome;
}
const pods: Pod[] = [];
/** Every pod netns the demo made, checked after clean-up. */
const podNetns: string[] = [];
const ipOf = (pod: Pod): string => ((pod.add.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address ?? '').split('/')[0] ?? '';

/** The CNI call Multus makes for a delegate: pod identity in CNI_ARGS, the NAD's config on stdin. */
async function cni(node: ClusterNode, call: CniCall, config: Record<string, unknown>): Promise<CniOutcome> {
  shell(`CNI_COMMAND=${call.command} CNI_CONTAINERID=${call.containerId ?? ''} CNI_NETNS=${call.netns ?? ''} CNI_IFNAME=${call.ifName ?? ''} \\\n    CNI_ARGS='${call.args ?? ''}' ip netns exec ${node.netns.name} dist/ovn-multinet <<< '${JSON.stringify(config)}'`);
  const out = await node.cni(call, config);
  console.log(`${out.stdout.trim()}${out.stdout.trim() === '' ? '' : '\n'}(exit ${out.exitCode})`);
  return out;
}

/** A pod object in the API server, a netns for it, and the ADD on its node with `nadConfig`. */
async function attach(api: FakeApi, node: ClusterNode, namespace: string, name: string, nadConfig: Record<string, unknown>): Promise<Pod> {
  const uid = `uid-${namespace}-${name}`;
  await api.upsert({ namespace, name, uid, nodeName: node.name });
  const ns = await createNetns(t, 'omdemo');
  podNetns.push(ns.name);
  const call = { command: 'ADD', containerId: `demo-${namespace}-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=${uid}` };
  // Each node's daemon listens on a socket of its own here; on a real node the default path serves.
  const config = { ...nadConfig, socket: node.daemon.socket };
  console.log(`\n${namespace}/${name} on ${node.name} (netns ${ns.name}):`);
  const add = await cni(node, call, config);
  const pod = { namespace, name, node, ns, call, config, add };
  pods.push(pod);
  return pod;
}

async function nadConfigOf(api: FakeApi, namespace: string, name: string): Promise<Record<string, unknown>> {
  const nad = await until(`the NAD ${namespace}/${name}`, () => api.get('network-attachment-definitions', namespace, name), 20_000);
  return JSON.parse(String((nad['spec'] as Record<string, unknown>)['config'])) as Record<string, unknown>;
}

type Condition = { type: string; status: string; reason: string; message: string };
const conditionsOf = (o: KubeObject | undefined): Condition[] => (((o?.['status'] ?? {}) as Record<string, unknown>)['conditions'] ?? []) as Condition[];
function printConditions(what: string, o: KubeObject | undefined): void {
  console.log(`${what} status:`);
  for (const c of conditionsOf(o)) console.log(`  ${c.type}=${c.status} (${c.reason}): ${c.message}`);
}

/** A few pings: the first packets to a new peer may go while OVN installs its flows. */
async function pings(from: Pod, to: string): Promise<boolean> {
  shell(`ip netns exec ${from.ns.name} ping -c 1 -W 1 ${to}   # up to 5 tries`);
  for (let i = 0; i < 5; i++) if (await pingOnce(from.ns, to)) return true;
  return false;
}

async function setUp(): Promise<{ nodes: TwoNodes; api: FakeApi }> {
  say('Set-up: two OVN nodes (node-a, node-b), an ovn-multinet daemon on each');
  // The fake API server runs in node-a's namespace, on a link of its own that node-b reaches; the
  // daemons start before it and connect once it listens (they retry every second).
  const { nodes, api } = await startApiNodes(t);
  for (const node of nodes.nodes) console.log(`${node.name}: netns ${node.netns.name}, encap IP ${node.encapIp}, daemon socket ${node.daemon.socket}`);
  say('A fake Kubernetes API server (it stands in for kube-apiserver, which cannot run here) and the controller');
  console.log(`API server: ${api.url} (in ${nodes.a.netns.name}); both daemons use it with --kubeconfig, and list and watch Networks`);
  for (const node of nodes.nodes) await api.apply('nodes', { metadata: { name: node.name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  for (const name of ['demo', 'team-a', 'team-b']) await api.upsertNamespace({ name, labels: { 'kubernetes.io/metadata.name': name } });
  shell(`ip netns exec ${nodes.a.netns.name} dist/ovn-multinetd controller --kubeconfig ... --nb-db ${nodes.a.env.NB_DB}`);
  const controller = startController(t, { netns: nodes.a.env.SANDBOX_NETNS, kubeconfig: api.kubeconfig, nbDb: nodes.a.env.NB_DB, api });
  await controller.leading();
  console.log('the controller holds its Lease: it leads');
  return { nodes, api };
}

async function layer3(nodes: TwoNodes, api: FakeApi): Promise<void> {
  say("The admin's layer3 Network l3net for namespace demo (cluster-scoped: only an admin writes it)");
  const network = { name: 'l3net', config: LAYER3, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'demo' } } };
  console.log(JSON.stringify({ apiVersion: 'ovn-multinet.io/v1', kind: 'Network', metadata: { name: network.name }, spec: { config: network.config, namespaceSelector: network.namespaceSelector } }, null, 2));
  await api.upsertNetwork(network);
  const config = await nadConfigOf(api, 'demo', 'l3net');
  console.log(`the controller wrote the NAD demo/l3net: ${JSON.stringify(config)}`);
  await until('l3net Ready', async () => conditionsOf(await api.get('networks', undefined, 'l3net')).find((c) => c.type === 'Ready' && c.status === 'True'), 20_000).catch(() => undefined);
  printConditions('Network l3net', await api.get('networks', undefined, 'l3net'));

  say('One pod per node in namespace demo attaches (the CNI call Multus makes for the NAD)');
  const pa = await attach(api, nodes.a, 'demo', 'web-a', config);
  const pb = await attach(api, nodes.b, 'demo', 'web-b', config);
  check(pa.add.exitCode === 0 && pb.add.exitCode === 0, 'both ADDs succeed');
  say("Each pod's address and routes: a /24 of 10.128.0.0/16 per node, its gateway, a route to the cluster subnet");
  const nets = [];
  for (const pod of [pa, pb]) {
    console.log(`\n${pod.namespace}/${pod.name} on ${pod.node.name}:`);
    await inPod(pod, ['ip', '-4', '-br', 'addr', 'show', 'dev', 'net1']);
    const routes = await inPod(pod, ['ip', 'route']);
    nets.push(ipOf(pod).split('.').slice(0, 3).join('.'));
    check(/^10\.128\.\d+\.\d+$/.test(ipOf(pod)), `${pod.name} has ${ipOf(pod)} in 10.128.0.0/16`);
    check(routes.includes(`10.128.0.0/16 via ${nets.at(-1) ?? ''}.1 dev net1`), `${pod.name} routes 10.128.0.0/16 via its node's gateway ${nets.at(-1) ?? ''}.1`);
  }
  check(nets[0] !== nets[1], `the nodes' subnets differ (${nets.join('.0/24, ')}.0/24)`);
  say('Ping across the nodes through the router (geneve between node-a and node-b)');
  check(await pings(pa, ipOf(pb)), `${pa.name} (${ipOf(pa)}, node-a) reaches ${pb.name} (${ipOf(pb)}, node-b)`);
  check(await pings(pb, ipOf(pa)), `${pb.name} reaches ${pa.name}`);
  say('What the Northbound DB holds: the router l3net_router and a switch per node');
  await nbctl(nodes, ['show']);
}

async function namespaced(nodes: TwoNodes, api: FakeApi): Promise<void> {
  say('Self-service: team-a and team-b each create a NamespacedNetwork "private" with the same subnet');
  for (const namespace of ['team-a', 'team-b']) {
    const object = { metadata: { namespace, name: 'private' }, spec: PRIVATE };
    console.log(JSON.stringify({ apiVersion: 'ovn-multinet.io/v1', kind: 'NamespacedNetwork', ...object }));
    await api.apply('namespacednetworks', object);
  }
  const configs: Record<string, Record<string, unknown>> = {};
  for (const namespace of ['team-a', 'team-b']) {
    await until(`${namespace}/private Ready`, async () => conditionsOf(await api.get('namespacednetworks', namespace, 'private')).find((c) => c.type === 'Ready' && c.status === 'True'), 20_000).catch(() => undefined);
    const config = await nadConfigOf(api, namespace, 'private');
    configs[namespace] = config;
    console.log(`\nthe controller wrote the NAD ${namespace}/private: ${JSON.stringify(config)}`);
    printConditions(`NamespacedNetwork ${namespace}/private`, await api.get('namespacednetworks', namespace, 'private'));
    check(config['logicalSwitch'] === `${TENANT_PREFIX}${namespace}/private`, `${namespace}'s NAD names its own switch ${TENANT_PREFIX}${namespace}/private`);
  }
  const [configA, configB] = [configs['team-a'] ?? {}, configs['team-b'] ?? {}];

  say('Two pods of team-a (one per node) and one of team-b attach');
  const a1 = await attach(api, nodes.a, 'team-a', 'app-1', configA);
  const a2 = await attach(api, nodes.b, 'team-a', 'app-2', configA);
  const b1 = await attach(api, nodes.a, 'team-b', 'db-1', configB);
  check([a1, a2, b1].every((p) => p.add.exitCode === 0), 'the three ADDs succeed');
  for (const pod of [a1, a2, b1]) console.log(`${pod.namespace}/${pod.name}: ${ipOf(pod)}`);
  await nbctl(nodes, ['ls-list']);
  check(ipOf(b1).startsWith('10.50.0.') && ipOf(b1) === ipOf(a1), `team-b's pod has ${ipOf(b1)}, the address team-a's first pod has too: separate switches, separate addresses`);

  say("team-a's pods reach each other; team-b's pod does not reach team-a");
  check(await pings(a1, ipOf(a2)), `team-a/app-1 reaches team-a/app-2 (${ipOf(a2)}, on the other node)`);
  check(!(await pings(b1, ipOf(a2))), `team-b/db-1 does not reach team-a/app-2 (${ipOf(a2)})`);

  say("A team-b pod tries team-a's NAD config (its logicalSwitch): refused, nothing made");
  const before = await nodeState(nodes.a.sandbox);
  const intruder = await attach(api, nodes.a, 'team-b', 'intruder', configA);
  check(intruder.add.json?.['code'] === 104, 'refused with code 104 (not permitted), the message naming the field logicalSwitch');
  check(JSON.stringify(await nodeState(nodes.a.sandbox)) === JSON.stringify(before), 'no switch, port, OVS port or veth was made');
}

async function tearDown(nodes: TwoNodes, api: FakeApi): Promise<void> {
  say('Tear-down: DEL for every pod (as the runtime calls it when a pod goes)');
  for (const pod of pods.splice(0)) {
    console.log(`\n${pod.namespace}/${pod.name}:`);
    const del = await cni(pod.node, { ...pod.call, command: 'DEL' }, pod.config);
    check(del.exitCode === 0, `DEL ${pod.namespace}/${pod.name}`);
    await pod.ns.remove();
    await api.delete(pod.namespace, pod.name);
  }
  say('The teams delete their NamespacedNetworks: their switches go once empty');
  for (const namespace of ['team-a', 'team-b']) await api.deleteObject('namespacednetworks', namespace, 'private');
  const tenantSwitches = async (): Promise<string[]> => lines(await nodes.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch'])).filter((n) => n.startsWith(TENANT_PREFIX));
  await until('the tenant switches to go', async () => ((await tenantSwitches()).length === 0 ? true : undefined), 20_000).catch(() => undefined);
  for (const namespace of ['team-a', 'team-b']) {
    await until(`${namespace}/private to go`, async () => ((await api.get('namespacednetworks', namespace, 'private')) === undefined ? true : undefined), 20_000).catch(() => undefined);
  }

  await nbctl(nodes, ['ls-list']);

  say('Nothing left behind');
  const podPorts = lines(await nodes.nbctl(['--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'type=""']));
  check(podPorts.length === 0, `no pod's logical switch port${listed(podPorts)}`);
  const left = await tenantSwitches();
  check(left.length === 0, `no tenant switch${listed(left)}`);
  for (const ns of ['team-a', 'team-b']) {
    check((await api.get('namespacednetworks', ns, 'private')) === undefined && (await api.get('network-attachment-definitions', ns, 'private')) === undefined, `no NamespacedNetwork or NAD ${ns}/private`);
  }
  for (const node of nodes.nodes) {
    const ports = await node.bridgePorts();
    check(ports.length === 0, `no OVS port on ${node.name}'s br-int${listed(ports)}`);
    const veths = await node.noHostVeths();
    check(veths.length === 0, `no veth on ${node.name}${listed(veths)}`);
  }
  console.log('(the layer3 network l3net keeps its router and node switches until its nodes are released: docs/layer3.md)');
}

async function main(): Promise<number> {
  const skip = e2eSkipReason();
  if (skip !== false) {
    console.error(`demo:networks: ${skip}`);
    return 1;
  }
  const started = Date.now();
  let nodes: TwoNodes | undefined;
  try {
    const { nodes: twoNodes, api } = await setUp();
    nodes = twoNodes;
    const shown = Date.now();
    await layer3(twoNodes, api);
    await namespaced(twoNodes, api);
    await tearDown(twoNodes, api);
    console.log(`\n(set-up ${((shown - started) / 1000).toFixed(1)} s, the rest ${((Date.now() - shown) / 1000).toFixed(1)} s)`);
  } catch (err) {
    console.error(`demo:networks: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    failed += 1;
  } finally {
    await cleanUp();
  }
  if (nodes !== undefined) {
    say('After stopping the daemons, the controller, the API server and OVS/OVN');
    const leftovers = [...(await nodes.leftovers()), ...podNetns.filter((n) => existsSync(`/var/run/netns/${n}`)).map((n) => `netns ${n}`)];
    check(leftovers.length === 0, `no process, node namespace, pod namespace or directory is left${listed(leftovers)}`);
  }
  console.log(failed === 0 ? '\ndemo:networks: every check passed' : `\ndemo:networks: ${failed} check(s) FAILED`);
  return failed === 0 ? 0 : 1;
}

process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
process.exitCode = await main();
