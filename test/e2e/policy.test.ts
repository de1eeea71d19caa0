// MultiNetworkPolicy (issue 21) enforced by OVN, with real traffic. Two OVN nodes (the NB on
// node A), the fake API server and two controllers (dist/ovn-multinetd controller, one leading)
// in A's namespace; pods are network namespaces on both nodes, ADDed by the CNI executable with
// their identity in CNI_ARGS, as Multus calls it. Every pod serves TCP 8080, 8081, 9000 and UDP
// 5353, 5354 on all its addresses. Each case applies policies through the API server, waits for
// their Enforced condition, then probes paths (TCP connect, UDP echo, ping) until they are open
// and closed as the case expects: a closed path is a probe that got no answer within 1 s, judged
// together with open ones in the same round, and every case starts from and returns to all open.
// The controllers resync only every 10 minutes, so every change takes effect through its events.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason } from '../helpers/node.ts';
import { startController, type ControllerProcess } from '../helpers/controller.ts';
import { startFakeApiServer, type FakeApi, type KubeObject } from '../helpers/fake-apiserver.ts';
import { pingOnce, reachable, startServices, type ServiceTarget } from '../helpers/traffic.ts';
import { startTwoNodes, type ClusterNode, type TwoNodes } from '../helpers/two-nodes.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const POLICY_FOR = 'k8s.v1.cni.cncf.io/policy-for';
const TCP_PORTS = [8080, 8081, 9000];
const UDP_PORTS = [5353, 5354];
/** How long a path may take to become open or closed once its policy is Enforced. */
const CONVERGE_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// Networks: two switches an admin made, a dual-stack layer2 network the daemon makes on first use,
// and a layer3 network (a switch per node behind a router, docs/layer3.md).

type Net = 'blue' | 'green' | 'dual' | 'routed';
const SWITCH_SUBNETS = { blue: '10.60.0.0/24', green: '10.61.0.0/24' } as const;
const DUAL = { topology: 'layer2', subnets: ['10.62.0.0/24', 'fd00:62::/64'] };
const ROUTED = { topology: 'layer3', subnets: ['10.63.0.0/16'], hostSubnetLength: 24 };
const netConfig = (net: Net): Record<string, unknown> => (net === 'dual' ? DUAL : net === 'routed' ? ROUTED : {});

// ---------------------------------------------------------------------------------------------
// Pods

interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  node: ClusterNode;
  /** Attached in this order as net1, net2, ... */
  networks: readonly Net[];
  /** The number of its container port named http (default 8080). */
  httpPort?: number;
}

interface Pod extends PodSpec {
  uid: string;
  ns: Netns;
  /** The pod's addresses on each network (no prefix length). */
  ips: Partial<Record<Net, string[]>>;
}

/** The pod object: labels, and named container ports (http TCP 8080 unless said, dns UDP 5353). */
function podObject(spec: PodSpec, uid: string): KubeObject {
  return {
    metadata: { namespace: spec.namespace, name: spec.name, uid, labels: spec.labels },
    spec: {
      nodeName: spec.node.name,
      containers: [{ name: 'c', image: 'busybox', ports: [{ name: 'http', containerPort: spec.httpPort ?? 8080, protocol: 'TCP' }, { name: 'dns', containerPort: 5353, protocol: 'UDP' }] }],
    },
  };
}

interface Env {
  nodes: TwoNodes;
  api: FakeApi;
}

/** The pod in the API server, then one ADD per network on its node (DEL at teardown), then its services. */
async function makePod(t: Test, env: Env, spec: PodSpec): Promise<Pod> {
  const uid = `uid-${spec.namespace}-${spec.name}`;
  await env.api.apply('pods', podObject(spec, uid));
  const ns = await createNetns(t, 'ompol');
  const ips: Partial<Record<Net, string[]>> = {};
  for (const [i, net] of spec.networks.entries()) {
    const call = {
      containerId: `pol-${spec.namespace}-${spec.name}`,
      netns: ns.path,
      ifName: `net${i + 1}`,
      args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${spec.namespace};K8S_POD_NAME=${spec.name};K8S_POD_INFRA_CONTAINER_ID=pol-${spec.name};K8S_POD_UID=${uid}`,
    };
    const config = spec.node.config(net, netConfig(net));
    const out = await spec.node.cni({ command: 'ADD', ...call }, config);
    if (out.exitCode !== 0) throw new Error(`ADD ${spec.namespace}/${spec.name} to ${net}: ${out.stdout}${out.stderr}`);
    t.teardown(() => spec.node.cni({ command: 'DEL', ...call }, config));
    ips[net] = ((out.json?.['ips'] as Array<{ address: string }> | undefined) ?? []).map((ip) => ip.address.split('/')[0] ?? '');
  }
  await startServices(t, ns, { tcp: TCP_PORTS, udp: UDP_PORTS });
  return { ...spec, uid, ns, ips };
}

/** The pod's address on `net` of `family`. */
function addressOf(pod: Pod, net: Net, family: 4 | 6): string {
  const ip = (pod.ips[net] ?? []).find((a) => a.includes(':') === (family === 6));
  if (ip === undefined) throw new Error(`${pod.name} has no IPv${family} address on ${net}`);
  return ip;
}

// ---------------------------------------------------------------------------------------------
// Paths: "from → to, on a network, by a protocol", probed all at once.

interface Path {
  from: Pod;
  to: Pod;
  /** e.g. "blue tcp 8080", "dual6 icmp" (the 6: the IPv6 address), "green udp 5353". */
  spec: string;
}

const path = (from: Pod, to: Pod, spec: string): Path => ({ from, to, spec });
const labelOf = (p: Path): string => `${p.from.name}→${p.to.name} ${p.spec}`;

function parseSpec(p: Path): { address: string; protocol: 'icmp' | 'tcp' | 'udp'; port: number } {
  const [where = '', protocol = '', port = '0'] = p.spec.split(' ');
  const family = where.endsWith('6') ? 6 : 4;
  const net = where.replace(/6$/, '') as Net;
  if (protocol !== 'icmp' && protocol !== 'tcp' && protocol !== 'udp') throw new Error(`bad path ${p.spec}`);
  return { address: addressOf(p.to, net, family), protocol, port: Number(port) };
}

/** Whether each path answers now: one probe process per source pod, one ping per ICMP path. */
async function probe(paths: readonly Path[]): Promise<boolean[]> {
  const results = paths.map(() => false);
  const bySource = new Map<Pod, Array<{ index: number; target: ServiceTarget }>>();
  const work: Array<Promise<void>> = [];
  paths.forEach((p, index) => {
    const { address, protocol, port } = parseSpec(p);
    if (protocol === 'icmp') {
      work.push(pingOnce(p.from.ns, address).then((ok) => void (results[index] = ok)));
      return;
    }
    const list = bySource.get(p.from) ?? [];
    list.push({ index, target: { protocol, address, port } });
    bySource.set(p.from, list);
  });
  for (const [from, list] of bySource) {
    work.push(reachable(from.ns, list.map((l) => l.target)).then((oks) => oks.forEach((ok, i) => void (results[list[i]?.index ?? -1] = ok))));
  }
  await Promise.all(work);
  return results;
}

/**
 * Probes until every `open` path answers and no `closed` one does (in the same round), then
 * asserts it; on a timeout the last round is what the assertion shows, with the NB's policy rows.
 */
async function expectPaths(t: Test, env: Env, what: string, expected: { open?: readonly Path[]; closed?: readonly Path[] }): Promise<void> {
  const open = expected.open ?? [];
  const closed = expected.closed ?? [];
  const all = [...open, ...closed];
  const want = Object.fromEntries(all.map((p, i) => [labelOf(p), i < open.length ? 'open' : 'closed']));
  let got: Record<string, string> = {};
  const converged = await until(
    what,
    async () => {
      const oks = await probe(all);
      got = Object.fromEntries(all.map((p, i) => [labelOf(p), oks[i] === true ? 'open' : 'closed']));
      return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
    },
    CONVERGE_MS,
  ).catch(() => false);
  if (!converged) t.comment(`NB policy rows:\n${await policyRows(env)}`);
  t.same(got, want, what);
}

async function policyRows(env: Env): Promise<string> {
  const list = async (table: string, columns: string): Promise<string> => env.nodes.nbctl([`--columns=${columns}`, 'list', table]);
  return [await list('Port_Group', 'name,ports,external_ids'), await list('Address_Set', 'name,addresses'), await list('ACL', 'priority,direction,action,match')].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Policies and their status

interface PolicyOptions {
  namespace?: string;
  /** The policy-for annotation (default: blue). */
  networks?: string;
}

async function applyPolicy(env: Env, name: string, spec: Record<string, unknown>, opts: PolicyOptions = {}): Promise<void> {
  await env.api.apply('multi-networkpolicies', {
    metadata: { namespace: opts.namespace ?? 'prod', name, annotations: { [POLICY_FOR]: opts.networks ?? 'blue' } },
    spec,
  });
}

async function deletePolicy(env: Env, name: string, namespace = 'prod'): Promise<void> {
  await env.api.remove('multi-networkpolicies', namespace, name);
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** The policy's Enforced condition once it describes the policy's current generation. */
function enforcedCondition(env: Env, name: string, namespace = 'prod'): Promise<Condition> {
  return until(
    `${namespace}/${name} Enforced for its generation`,
    async () => {
      const o = await env.api.get('multi-networkpolicies', namespace, name);
      const status = (o?.['status'] ?? {}) as { conditions?: Condition[] };
      const c = status.conditions?.find((x) => x.type === 'Enforced');
      return c !== undefined && c.observedGeneration === o?.metadata.generation ? c : undefined;
    },
    15_000,
  );
}

/** Applies a policy and waits until the controller says it is enforced (its rows are in the NB). */
async function enforce(t: Test, env: Env, name: string, spec: Record<string, unknown>, opts: PolicyOptions = {}): Promise<void> {
  await applyPolicy(env, name, spec, opts);
  const c = await enforcedCondition(env, name, opts.namespace);
  t.equal(c.status, 'True', `${name} is Enforced: ${c.message}`);
}

/** Waits until the NB has no policy row left (every policy deleted). */
async function noPolicyRows(env: Env): Promise<void> {
  await until('no policy rows in the NB', async () => ((await env.nodes.nbctl(['--bare', '--columns=_uuid', 'list', 'Port_Group'])) === '' ? true : undefined), 15_000);
}

/** The policies (namespace/name) that have port groups in the NB. */
async function policiesInNb(env: Env): Promise<string[]> {
  const out = await env.nodes.nbctl(['--bare', '--columns=external_ids', 'list', 'Port_Group']);
  return [...out.matchAll(/ovn-multinet\/policy"?="?([^",\s]+)/g)].map((m) => m[1] ?? '').sort();
}

/** SIGKILL: a crash, the Lease left to expire. */
async function killed(controller: ControllerProcess): Promise<void> {
  controller.child.kill('SIGKILL');
  await controller.exited;
}

/** Log lines of a controller at pino level `level` or above. */
function logLines(controller: ControllerProcess, level: number): Array<Record<string, unknown>> {
  return controller.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => typeof l['level'] === 'number' && l['level'] >= level);
}

// ---------------------------------------------------------------------------------------------

t.test('MultiNetworkPolicy enforced by OVN', { skip }, async (t) => {
  const nodes = await startTwoNodes(t);
  const { a, b } = nodes;
  for (const [name, subnet] of Object.entries(SWITCH_SUBNETS)) {
    await nodes.nbctl(['ls-add', name, '--', 'set', 'logical_switch', name, `other_config:subnet=${subnet}`]);
  }
  const api = await startFakeApiServer(t, { netns: a.env.SANDBOX_NETNS });
  const env: Env = { nodes, api };
  await api.upsertNamespace({ name: 'prod', labels: { team: 'prod' } });
  await api.upsertNamespace({ name: 'dev', labels: { team: 'dev' } });
  const nad = (namespace: string, name: string, config: Record<string, unknown>): Promise<KubeObject> =>
    api.apply('network-attachment-definitions', { metadata: { namespace, name }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', name, ...config }) } });
  for (const net of ['blue', 'green', 'dual', 'routed'] as const) await nad('prod', net, { type: 'ovn-multinet', ...netConfig(net) });
  await nad('dev', 'blue', { type: 'ovn-multinet' });
  // Another plugin using ovn-multinet for its addresses only: its traffic never crosses OVN.
  await nad('prod', 'storage', { type: 'macvlan', master: 'eth0', ipam: { type: 'ovn-multinet', logicalSwitch: 'blue' } });
  // Another plugin's network altogether: policies for it are not ovn-multinet's business.
  await nad('prod', 'theirs', { type: 'macvlan', master: 'eth0', ipam: { type: 'host-local', subnet: '10.99.0.0/24' } });

  // No periodic resync within the test: every change must take effect through the events it makes.
  const controllerOpts = { netns: a.env.SANDBOX_NETNS, kubeconfig: api.kubeconfig, nbDb: a.env.NB_DB, api, resyncInterval: '10m' };
  const first = startController(t, { ...controllerOpts, identity: 'ctl-1' });
  await first.leading();
  const second = startController(t, { ...controllerOpts, identity: 'ctl-2' });

  // server and other on node A, client and dev-client on node B: most paths cross the underlay.
  const server = await makePod(t, env, { namespace: 'prod', name: 'server', labels: { app: 'server' }, node: a, networks: ['blue', 'green', 'dual', 'routed'] });
  const other = await makePod(t, env, { namespace: 'prod', name: 'other', labels: { app: 'other' }, node: a, networks: ['blue', 'dual', 'routed'] });
  const client = await makePod(t, env, { namespace: 'prod', name: 'client', labels: { app: 'client' }, node: b, networks: ['blue', 'green', 'dual', 'routed'] });
  const devClient = await makePod(t, env, { namespace: 'dev', name: 'dev-client', labels: { app: 'client' }, node: b, networks: ['blue'] });

  /** To the server on blue, by TCP 8080, UDP 5353 and ping, from each pod. */
  const toServer = (from: Pod): Path[] => ['blue tcp 8080', 'blue udp 5353', 'blue icmp'].map((s) => path(from, server, s));
  const allOpen = [...toServer(client), ...toServer(other), ...toServer(devClient), path(client, server, 'green tcp 8080'), path(server, client, 'blue tcp 8080')];

  await t.test('no policy: every path is open', async (t) => {
    await expectPaths(t, env, 'all open', { open: allOpen });
  });

  await t.test('deny-all ingress on the network blocks TCP, UDP and ICMP; other networks and namespaces are unaffected', async (t) => {
    await enforce(t, env, 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
    await expectPaths(t, env, 'prod pods closed on blue, green and dev open', {
      open: [path(client, server, 'green tcp 8080'), path(client, server, 'green udp 5353'), path(client, server, 'green icmp'), path(server, devClient, 'blue tcp 8080'), path(server, devClient, 'blue icmp')],
      closed: [...toServer(client), ...toServer(other), ...toServer(devClient), path(devClient, client, 'blue tcp 8080'), path(server, other, 'blue udp 5353')],
    });
    await deletePolicy(env, 'deny-all');
    // In dev, the bare name blue is dev/blue (the same switch): it selects dev's pods only.
    await enforce(t, env, 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }, { namespace: 'dev' });
    await expectPaths(t, env, "dev's deny-all: dev pods closed, prod pods open", { open: [...toServer(client), path(client, other, 'blue tcp 8080')], closed: [path(client, devClient, 'blue tcp 8080'), path(server, devClient, 'blue icmp')] });
    await deletePolicy(env, 'deny-all', 'dev');
    await noPolicyRows(env);
    await expectPaths(t, env, 'deleted: all open again', { open: allOpen });
  });

  await t.test('ingress allowed by podSelector, namespaceSelector, both, and ipBlock with except', async (t) => {
    const fromPeers = (from: unknown[]): Record<string, unknown> => ({ podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'], ingress: [{ from }] });
    const otherBlue = addressOf(other, 'blue', 4);
    const rows: Array<{ what: string; from: unknown[]; open: Pod[]; closed: Pod[] }> = [
      { what: 'podSelector app=client: its own namespace only', from: [{ podSelector: { matchLabels: { app: 'client' } } }], open: [client], closed: [other, devClient] },
      { what: 'namespaceSelector team=dev: every pod there', from: [{ namespaceSelector: { matchLabels: { team: 'dev' } } }], open: [devClient], closed: [client, other] },
      {
        what: 'namespaceSelector team in (prod, dev) with podSelector app=client',
        from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['prod', 'dev'] }] }, podSelector: { matchLabels: { app: 'client' } } }],
        open: [client, devClient],
        closed: [other],
      },
      { what: `ipBlock 10.60.0.0/24 except ${otherBlue}/32`, from: [{ ipBlock: { cidr: '10.60.0.0/24', except: [`${otherBlue}/32`] } }], open: [client, devClient], closed: [other] },
    ];
    for (const row of rows) {
      await enforce(t, env, 'allow', fromPeers(row.from));
      await expectPaths(t, env, row.what, { open: row.open.flatMap(toServer), closed: row.closed.flatMap(toServer) });
    }
    // A second policy selecting the same pod: what either allows is allowed.
    await enforce(t, env, 'allow', fromPeers([{ podSelector: { matchLabels: { app: 'client' } } }]));
    await enforce(t, env, 'allow-too', fromPeers([{ podSelector: { matchLabels: { app: 'other' } } }]));
    await expectPaths(t, env, 'two policies on the server: the union of their peers', { open: [...toServer(client), ...toServer(other)], closed: toServer(devClient) });
    await deletePolicy(env, 'allow-too');
    await expectPaths(t, env, 'one of them deleted: only its peers shut out', { open: toServer(client), closed: [...toServer(other), ...toServer(devClient)] });
    await deletePolicy(env, 'allow');
    await expectPaths(t, env, 'deleted: all open again', { open: allOpen });
  });

  await t.test('ports: TCP and UDP numbers, an endPort range, named container ports', async (t) => {
    const onPorts = (ports: unknown[]): Record<string, unknown> => ({ podSelector: { matchLabels: { app: 'server' } }, ingress: [{ ports }] });
    const to = (...specs: string[]): Path[] => specs.flatMap((s) => [path(client, server, `blue ${s}`), path(other, server, `blue ${s}`)]);
    const rows: Array<{ what: string; ports: unknown[]; open: string[]; closed: string[] }> = [
      { what: 'TCP 8080', ports: [{ protocol: 'TCP', port: 8080 }], open: ['tcp 8080'], closed: ['tcp 8081', 'udp 5353', 'icmp'] },
      { what: 'UDP 5353', ports: [{ protocol: 'UDP', port: 5353 }], open: ['udp 5353'], closed: ['udp 5354', 'tcp 8080'] },
      { what: 'TCP 8080-8081 (endPort)', ports: [{ protocol: 'TCP', port: 8080, endPort: 8081 }], open: ['tcp 8080', 'tcp 8081'], closed: ['tcp 9000', 'udp 5353'] },
      { what: 'named: http (TCP) and dns (UDP)', ports: [{ port: 'http' }, { protocol: 'UDP', port: 'dns' }], open: ['tcp 8080', 'udp 5353'], closed: ['tcp 8081', 'udp 5354', 'icmp'] },
    ];
    for (const row of rows) {
      await enforce(t, env, 'ports', onPorts(row.ports));
      await expectPaths(t, env, row.what, { open: to(...row.open), closed: to(...row.closed) });
    }
    // Two selected pods whose port named http has different numbers: each is open on its own.
    const alt = await makePod(t, env, { namespace: 'prod', name: 'alt', labels: { app: 'server', role: 'alt' }, node: b, networks: ['blue'], httpPort: 8081 });
    await enforce(t, env, 'ports', onPorts([{ port: 'http' }]));
    await expectPaths(t, env, 'named http: 8080 on server, 8081 on alt', {
      open: [path(other, server, 'blue tcp 8080'), path(other, alt, 'blue tcp 8081'), path(client, alt, 'blue tcp 8081')],
      closed: [path(other, server, 'blue tcp 8081'), path(other, alt, 'blue tcp 8080'), path(client, alt, 'blue tcp 8080')],
    });
    await deletePolicy(env, 'ports');
    await expectPaths(t, env, 'deleted: all open again', { open: [...allOpen, path(other, alt, 'blue tcp 8080')] });
  });

  await t.test('egress: deny all, then allow one peer and port (numeric and named)', async (t) => {
    const onClient = (egress: unknown[]): Record<string, unknown> => ({ podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress });
    await enforce(t, env, 'egress', onClient([]));
    await expectPaths(t, env, "client's egress closed on blue; its ingress and green open", {
      open: [path(client, server, 'green tcp 8080'), path(server, client, 'blue tcp 8080'), path(server, client, 'blue icmp'), path(other, client, 'blue udp 5353')],
      closed: [...toServer(client), path(client, other, 'blue tcp 8080'), path(client, devClient, 'blue tcp 8080')],
    });
    for (const port of [8080, 'http']) {
      await enforce(t, env, 'egress', onClient([{ to: [{ podSelector: { matchLabels: { app: 'server' } } }], ports: [{ protocol: 'TCP', port }] }]));
      await expectPaths(t, env, `egress to app=server on TCP ${port}`, {
        open: [path(client, server, 'blue tcp 8080'), path(server, client, 'blue tcp 8080')],
        closed: [path(client, server, 'blue tcp 8081'), path(client, server, 'blue udp 5353'), path(client, server, 'blue icmp'), path(client, other, 'blue tcp 8080')],
      });
    }
    const serverBlue = addressOf(server, 'blue', 4);
    await enforce(t, env, 'egress', onClient([{ to: [{ ipBlock: { cidr: '10.60.0.0/24', except: [`${serverBlue}/32`] } }] }]));
    await expectPaths(t, env, `egress to ipBlock 10.60.0.0/24 except ${serverBlue}/32`, {
      open: [path(client, other, 'blue tcp 8080'), path(client, other, 'blue udp 5353'), path(client, devClient, 'blue icmp')],
      closed: toServer(client),
    });
    await deletePolicy(env, 'egress');
    await expectPaths(t, env, 'deleted: all open again', { open: allOpen });
  });

  await t.test("stateful: a pod whose ingress is denied still gets the replies of its own connections", async (t) => {
    await enforce(t, env, 'isolate-server', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] });
    await expectPaths(t, env, 'server reaches out; nothing reaches in', {
      open: [path(server, client, 'blue tcp 8080'), path(server, client, 'blue udp 5353'), path(server, client, 'blue icmp'), path(server, other, 'blue tcp 8081')],
      closed: [...toServer(client), ...toServer(other)],
    });
    await deletePolicy(env, 'isolate-server');
    await expectPaths(t, env, 'deleted: all open again', { open: allOpen });
  });

  await t.test('IPv6 and dual-stack: the same rules on IPv6 addresses', async (t) => {
    const dualOpen = [path(client, server, 'dual6 tcp 8080'), path(other, server, 'dual6 tcp 8080'), path(other, server, 'dual6 icmp'), path(client, server, 'dual udp 5353')];
    await expectPaths(t, env, 'no policy: dual-stack paths open', { open: dualOpen });
    await enforce(t, env, 'dual', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] }, { networks: 'dual' });
    await expectPaths(t, env, 'app=client on TCP 8080, both families', {
      open: [path(client, server, 'dual6 tcp 8080'), path(client, server, 'dual tcp 8080'), path(other, server, 'blue tcp 8080')],
      closed: [path(other, server, 'dual6 tcp 8080'), path(other, server, 'dual tcp 8080'), path(client, server, 'dual6 tcp 8081'), path(client, server, 'dual6 udp 5353'), path(client, server, 'dual6 icmp')],
    });
    const other6 = addressOf(other, 'dual', 6);
    await enforce(t, env, 'dual', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ ipBlock: { cidr: 'fd00:62::/64', except: [`${other6}/128`] } }] }] }, { networks: 'dual' });
    await expectPaths(t, env, `ipBlock fd00:62::/64 except ${other6}/128`, {
      open: [path(client, server, 'dual6 tcp 8080'), path(client, server, 'dual6 udp 5354'), path(client, server, 'dual6 icmp')],
      closed: [path(other, server, 'dual6 tcp 8080'), path(other, server, 'dual6 icmp'), path(client, server, 'dual tcp 8080'), path(client, server, 'dual icmp')],
    });
    await deletePolicy(env, 'dual');
    await expectPaths(t, env, 'deleted: dual-stack paths open again', { open: dualOpen });
    // Egress on IPv6 with the neighbour caches flushed: neighbour discovery still works under the default deny.
    await enforce(t, env, 'dual-egress', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'server' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] }, { networks: 'dual' });
    await Promise.all([client, server, other].map((p) => p.ns.exec(['ip', 'neigh', 'flush', 'all'])));
    await expectPaths(t, env, 'egress from client to app=server on TCP 8080, neighbours resolved again', {
      open: [path(client, server, 'dual6 tcp 8080'), path(client, server, 'dual tcp 8080'), path(other, client, 'dual6 tcp 8080')],
      closed: [path(client, other, 'dual6 tcp 8080'), path(client, server, 'dual6 tcp 8081'), path(client, server, 'dual6 icmp')],
    });
    await deletePolicy(env, 'dual-egress');
    await expectPaths(t, env, 'deleted: dual-stack paths open again', { open: dualOpen });
  });

  await t.test('layer3: a policy holds for the pods of every node switch, across the router', async (t) => {
    // client is on node B, server and other on node A: client's traffic goes through the router.
    const routedOpen = [path(client, server, 'routed tcp 8080'), path(client, server, 'routed icmp'), path(other, server, 'routed tcp 8080')];
    await expectPaths(t, env, 'no policy: layer3 paths open', { open: routedOpen });
    await enforce(t, env, 'routed', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }] }, { networks: 'routed' });
    await expectPaths(t, env, 'app=client on TCP 8080, from the other node through the router', {
      open: [path(client, server, 'routed tcp 8080'), path(other, server, 'blue tcp 8080')],
      closed: [path(other, server, 'routed tcp 8080'), path(client, server, 'routed tcp 8081'), path(client, server, 'routed icmp')],
    });
    await deletePolicy(env, 'routed');
    await expectPaths(t, env, 'deleted: layer3 paths open again', { open: routedOpen });
  });

  await t.test('changes take effect: a relabelled pod, a new pod, a deleted policy', async (t) => {
    await enforce(t, env, 'clients', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] });
    await expectPaths(t, env, 'app=client only', { open: toServer(client), closed: toServer(other) });
    await api.apply('pods', podObject({ ...server, labels: { app: 'retired' } }, server.uid));
    await expectPaths(t, env, 'server relabelled out of the policy: open to all', { open: [...toServer(client), ...toServer(other)] });
    await api.apply('pods', podObject(server, server.uid));
    await expectPaths(t, env, 'server relabelled back: isolated again', { open: toServer(client), closed: toServer(other) });
    await api.apply('pods', podObject({ ...other, labels: { app: 'client' } }, other.uid));
    await expectPaths(t, env, 'other relabelled app=client: let in', { open: [...toServer(client), ...toServer(other)] });
    await api.apply('pods', podObject(other, other.uid));
    await expectPaths(t, env, 'other relabelled back: shut out', { open: toServer(client), closed: toServer(other) });
    const late = await makePod(t, env, { namespace: 'prod', name: 'late', labels: { app: 'client' }, node: a, networks: ['blue'] });
    const lateServer = await makePod(t, env, { namespace: 'prod', name: 'late-server', labels: { app: 'server' }, node: b, networks: ['blue'] });
    await expectPaths(t, env, 'a new app=client pod is let in; a new app=server pod is isolated', {
      open: [...toServer(late), path(client, lateServer, 'blue tcp 8080'), path(late, lateServer, 'blue icmp')],
      closed: [...toServer(other), path(other, lateServer, 'blue tcp 8080'), path(other, lateServer, 'blue icmp')],
    });
    await deletePolicy(env, 'clients');
    await expectPaths(t, env, 'deleted: all open again', { open: [...allOpen, ...toServer(late), path(other, lateServer, 'blue tcp 8080')] });
  });

  await t.test('changes take effect: a relabelled namespace, a NAD that appears after its policy', async (t) => {
    await enforce(t, env, 'from-dev', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'dev' } } }] }] });
    await expectPaths(t, env, 'team=dev let in', { open: toServer(devClient), closed: toServer(client) });
    await api.upsertNamespace({ name: 'dev', labels: { team: 'qa' } });
    await expectPaths(t, env, 'dev relabelled team=qa: shut out', { closed: [...toServer(devClient), ...toServer(client)] });
    await api.upsertNamespace({ name: 'dev', labels: { team: 'dev' } });
    await expectPaths(t, env, 'dev relabelled back: let in', { open: toServer(devClient), closed: toServer(client) });
    await deletePolicy(env, 'from-dev');

    await applyPolicy(env, 'early', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] }, { networks: 'later' });
    t.match(await enforcedCondition(env, 'early'), { status: 'False', message: /network prod\/later: no such NetworkAttachmentDefinition/ }, 'before its NAD: not enforced');
    await expectPaths(t, env, 'before its NAD: nothing closed', { open: allOpen });
    await nad('prod', 'later', { type: 'ovn-multinet', logicalSwitch: 'blue' });
    await until('early Enforced True', async () => ((await enforcedCondition(env, 'early')).status === 'True' ? true : undefined), 15_000);
    t.pass('the NAD made: Enforced True');
    await expectPaths(t, env, 'the NAD made: the server is isolated on its switch', { open: [path(client, server, 'green tcp 8080')], closed: [...toServer(client), ...toServer(other)] });
    await api.remove('network-attachment-definitions', 'prod', 'later');
    await expectPaths(t, env, 'the NAD deleted: open again', { open: allOpen });
    const gone = await until('early Enforced False again', async () => {
      const c = await enforcedCondition(env, 'early');
      return c.status === 'False' ? c : undefined;
    }, 15_000);
    t.match(gone, { message: /network prod\/later: no such NetworkAttachmentDefinition/ }, 'the NAD deleted: not enforced, naming it');
    await deletePolicy(env, 'early');
    await noPolicyRows(env);
  });

  await t.test('status: Enforced True, or False naming a missing NAD, an IPAM-mode NAD or an invalid spec; Events', async (t) => {
    const isolate = { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] };
    await applyPolicy(env, 'partial', isolate, { networks: 'blue,nope' });
    const missing = await enforcedCondition(env, 'partial');
    t.match(missing, { status: 'False', reason: 'NotEnforced', message: /network prod\/nope: no such NetworkAttachmentDefinition/ }, 'a missing NAD is named');
    await expectPaths(t, env, 'still enforced on the network that exists', { open: [path(client, server, 'green tcp 8080')], closed: toServer(client) });
    await deletePolicy(env, 'partial');

    await applyPolicy(env, 'ipam', isolate, { networks: 'storage' });
    t.match(await enforcedCondition(env, 'ipam'), { status: 'False', message: /network prod\/storage: IPAM-mode attachments are not enforced/ }, 'an IPAM-mode NAD is named');
    await applyPolicy(env, 'invalid', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.60.0.0/33' } }] }] });
    t.match(await enforcedCondition(env, 'invalid'), { status: 'False', message: /invalid spec: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr/ }, 'an invalid spec is named');
    await applyPolicy(env, 'theirs', isolate, { networks: 'theirs' });
    await enforce(t, env, 'fine', { podSelector: { matchLabels: { app: 'nobody' } } });
    t.equal((await api.get('multi-networkpolicies', 'prod', 'theirs'))?.['status'], undefined, "a policy for another plugin's network only: no status written");

    const events = await until('an Event for each verdict', async () => {
      const all = (await api.list('events')).map((e) => ({ name: (e['regarding'] as { name?: string } | undefined)?.name, type: e['type'], reason: e['reason'], message: String(e['note']) }));
      const of = (name: string) => all.filter((e) => e.name === name);
      return of('partial').length > 0 && of('ipam').length > 0 && of('invalid').length > 0 && of('fine').length > 0 ? of : undefined;
    }, 10_000);
    const rows: Array<[string, Record<string, unknown>]> = [
      ['partial', { type: 'Warning', reason: 'PolicyNotEnforced', message: /prod\/nope/ }],
      ['ipam', { type: 'Warning', reason: 'PolicyNotEnforced', message: /prod\/storage/ }],
      ['invalid', { type: 'Warning', reason: 'PolicyNotEnforced', message: /invalid spec/ }],
      ['fine', { type: 'Normal', reason: 'PolicyEnforced' }],
    ];
    for (const [name, want] of rows) {
      t.equal(events(name).length, 1, `${name}: one Event for its one verdict`);
      t.match(events(name)[0], want, `${name}: the Event says why`);
    }
    t.equal(events('theirs').length, 0, "another plugin's: no Event");
    for (const name of ['ipam', 'invalid', 'fine', 'theirs']) await deletePolicy(env, name);
    await noPolicyRows(env);
  });

  await t.test('the leader killed: the other controller takes over and enforces a change', async (t) => {
    await enforce(t, env, 'before', { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] });
    await expectPaths(t, env, 'enforced by the first leader', { closed: toServer(client), open: [path(client, server, 'green tcp 8080')] });
    t.equal(await first.holder(), 'ctl-1', 'ctl-1 leads');
    await killed(first);
    await deletePolicy(env, 'before');
    await applyPolicy(env, 'after', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'other' } } }] }] });
    await second.leading();
    t.pass('ctl-2 leads');
    const c = await enforcedCondition(env, 'after');
    t.equal(c.status, 'True', `ctl-2 enforces it: ${c.message}`);
    await expectPaths(t, env, 'the change made while nobody led is enforced', { open: toServer(other), closed: toServer(client) });
    t.same(await policiesInNb(env), ['prod/after'], "the deleted policy's rows are gone: only the new one has a port group");
    await deletePolicy(env, 'after');
    await expectPaths(t, env, 'deleted: all open again', { open: allOpen });
  });

  await t.test('the controllers logged no error', async (t) => {
    for (const controller of [first, second]) {
      t.ok(logLines(controller, 0).length > 0, 'control: its log is read');
      t.same(logLines(controller, 50), [], `${controller === first ? 'ctl-1' : 'ctl-2'}: no error`);
      const warnings = logLines(controller, 40);
      if (warnings.length > 0) t.comment(`${controller === first ? 'ctl-1' : 'ctl-2'} warned: ${JSON.stringify(warnings).slice(0, 2000)}`);
    }
  });
});
