// NamespacedNetworks across two nodes (issue 23, item 1): the controller (dist/, as it runs) and
// both nodes' daemons (strict network access) share one fake API server and one NB. Two
// namespaces each make a layer3 network called `blue` with the same subnet: each gets its own
// router and node switches, and the pods of both hold the same addresses; pods of one namespace on
// the two nodes reach each other over geneve through their router, and only them (the echo
// requests counted in each pod), and on node B a pod of another namespace is refused 104 with
// nothing made.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, type CniOutcome } from '../helpers/node.ts';
import { startController } from '../helpers/controller.ts';
import { echoesIn } from '../helpers/claims.ts';
import { startApiNodes } from '../helpers/api-nodes.ts';
import type { FakeApi, KubeObject } from '../helpers/fake-apiserver.ts';
import type { ClusterNode } from '../helpers/two-nodes.ts';
import { ping } from '../helpers/traffic.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const SPEC = { topology: 'layer3', subnets: ['10.82.0.0/16'], hostSubnetLength: 24 };

interface Pod { ns: Netns; out: CniOutcome; ip: string }

/** The NAD the controller wrote for namespace/name: its CNI config. */
async function nadConfig(api: FakeApi, namespace: string, name: string): Promise<Record<string, unknown>> {
  const nad = await until(`the NAD ${namespace}/${name}`, () => api.get('network-attachment-definitions', namespace, name), 15_000);
  return JSON.parse(String((nad['spec'] as Record<string, unknown>)['config'])) as Record<string, unknown>;
}

const accepted = (o: KubeObject | undefined): boolean =>
  ((((o?.['status'] ?? {}) as Record<string, unknown>)['conditions'] ?? []) as Array<{ type: string; status: string }>).some((c) => c.type === 'Accepted' && c.status === 'True');

t.test('NamespacedNetworks on two nodes', { skip }, async (t) => {
  const { nodes, api } = await startApiNodes(t);
  const { a, b } = nodes;
  for (const name of ['team-a', 'team-b']) await api.upsertNamespace({ name });
  const controller = startController(t, { netns: a.netns.name, kubeconfig: api.kubeconfig, nbDb: a.env.NB_DB, api });
  await controller.leading();

  let count = 0;
  /** ADD of a new pod of `namespace` on `node`, through that node's daemon; DEL at teardown. */
  const add = async (t: Test, node: ClusterNode, namespace: string, config: Record<string, unknown>): Promise<Pod> => {
    const name = `pod-${++count}`;
    await api.upsert({ namespace, name, uid: `uid-${name}`, nodeName: node.name });
    const ns = await createNetns(t, 'omnsn');
    const call = { containerId: `nsn-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}` };
    const full = { ...config, socket: node.daemon.socket };
    const out = await node.cni({ command: 'ADD', ...call }, full);
    if (out.exitCode === 0) t.teardown(() => node.cni({ command: 'DEL', ...call }, full));
    const ip = ((out.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address ?? '').split('/')[0] ?? '';
    return { ns, out, ip };
  };

  for (const namespace of ['team-a', 'team-b']) await api.apply('namespacednetworks', { metadata: { namespace, name: 'blue' }, spec: SPEC });
  for (const namespace of ['team-a', 'team-b']) await until(`${namespace}/blue accepted`, async () => (accepted(await api.get('namespacednetworks', namespace, 'blue')) ? true : undefined), 15_000);
  const configA = await nadConfig(api, 'team-a', 'blue');
  const configB = await nadConfig(api, 'team-b', 'blue');

  const a1 = await add(t, a, 'team-a', configA);
  const a2 = await add(t, b, 'team-a', configA);
  // team-b's first pod is on node B, its second on A: the other way round.
  const b1 = await add(t, b, 'team-b', configB);
  const b2 = await add(t, a, 'team-b', configB);
  for (const [pod, what] of [[a1, 'team-a on A'], [a2, 'team-a on B'], [b1, 'team-b on B'], [b2, 'team-b on A']] as const) t.equal(pod.out.exitCode, 0, `${what}: ${pod.out.stdout}`);
  const prefix = (ip: string): string => ip.split('.').slice(0, 3).join('.');
  t.not(prefix(a1.ip), prefix(a2.ip), `team-a's pods are in their nodes' subnets (${a1.ip}, ${a2.ip})`);
  t.same([b1.ip, b2.ip], [a1.ip, a2.ip], `team-b's pods hold the very addresses team-a's do, on the other nodes (${b1.ip}, ${b2.ip})`);
  const routers = (await nodes.nbctl(['--bare', '--columns=name', 'list', 'Logical_Router'])).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  t.equal(routers.filter((r) => r.startsWith('omn-tenant/team-a/blue')).length, 1, `one router for team-a's network (${routers.join(', ')})`);
  t.equal(routers.filter((r) => r.startsWith('omn-tenant/team-b/blue')).length, 1, 'one for team-b\'s');

  // Which pod answered: the echo requests each pod's namespace received.
  const pods = { a1, a2, b1, b2 };
  const echoes = async (): Promise<Record<string, number>> => Object.fromEntries(await Promise.all(Object.entries(pods).map(async ([k, p]) => [k, await echoesIn(p.ns)] as const)));
  const gained = (from: Record<string, number>, to: Record<string, number>): string[] => Object.keys(pods).filter((k) => (to[k] ?? 0) > (from[k] ?? 0));
  for (const [from, to, name, other] of [[a1, a2, 'a2', 'team-a'], [b1, b2, 'b2', 'team-b'], [a2, a1, 'a1', 'team-a'], [b2, b1, 'b1', 'team-b']] as const) {
    const start = await echoes();
    t.ok(await ping(from.ns, to.ip), `${other}: ${from.ip} reaches ${to.ip} on the other node, through its router`);
    t.same(gained(start, await echoes()), [name], `only ${other}'s ${name} received the echo requests, not the other namespace's pod of the same address`);
  }
  const before = await nodes.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch_Port']);
  const intruder = await add(t, b, 'team-b', configA);
  t.equal(intruder.out.json?.['code'], 104, `team-b with team-a's NAD on node B: 104 (${intruder.out.stdout})`);
  t.equal(await nodes.nbctl(['--bare', '--columns=name', 'list', 'Logical_Switch_Port']), before, 'no logical switch port made');
  t.same((await intruder.ns.exec(['ls', '/sys/class/net'])).split(/\s+/).filter((l) => l !== ''), ['lo'], 'no interface in the pod');
});
