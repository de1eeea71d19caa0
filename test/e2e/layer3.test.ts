// Layer3 networks on two nodes: each node's first ADD makes its own switch, joined to the
// network's one router, with a node subnet of its own; pods get an address there, the gateway
// and a route to the cluster subnet, and ping across nodes through the router. Each daemon
// serves only its own node's switch. A second definition under the same name, or an invalid
// one, is refused and makes nothing; releasing a node frees its switch, router port and subnet.
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, DAEMON_BINARY } from '../helpers/node.ts';
import { ping, pingOnce } from '../helpers/traffic.ts';
import { until } from '../helpers/until.ts';
import { ipOf, startTwoNodes, type ClusterPod as Pod, type ClusterNode, type TwoNodes } from '../helpers/two-nodes.ts';

const skip = e2eSkipReason();
const NETWORK = 'l3net';
const CLUSTER = '10.60.0.0/16';
const LAYER3 = { topology: 'layer3', subnets: [CLUSTER], hostSubnetLength: 24 };
const METRICS_PORT = 19_480;

/** ADD through the node's daemon; a DEL is armed at teardown. */
async function attach(t: Test, node: ClusterNode, id: string, config: Record<string, unknown> = LAYER3, network = NETWORK): Promise<Pod> {
  const ns = await createNetns(t, 'oml3');
  const call = { containerId: id, netns: ns.path, ifName: 'net1' };
  const add = await node.cni({ command: 'ADD', ...call }, node.config(network, config));
  t.teardown(() => node.cni({ command: 'DEL', ...call }, node.config(network, config)));
  return { node, id, ns, ip: ipOf(add), add, call };
}

async function detach(t: Test, pods: readonly Pod[], config: Record<string, unknown> = LAYER3, network = NETWORK): Promise<void> {
  for (const p of pods) {
    const del = await p.node.cni({ command: 'DEL', ...p.call }, p.node.config(network, config));
    t.equal(del.exitCode, 0, `DEL ${p.id}: ${del.stdout}`);
  }
}

const lines = (out: string): string[] => out.split('\n').map((l) => l.trim()).filter((l) => l !== '');

/** The router's node-subnet keys, `cidr=node`. */
async function nodeSubnetKeys(nodes: TwoNodes, router: string): Promise<string[]> {
  const ids = await nodes.nbctl(['--bare', '--columns=external_ids', 'find', 'Logical_Router', `name=${router}`]);
  return ids.split(/\s+/).filter((kv) => kv.startsWith('"ovn-multinet/node-subnet:') || kv.startsWith('ovn-multinet/node-subnet:')).map((kv) => kv.replaceAll('"', '').replace('ovn-multinet/node-subnet:', '')).sort();
}

async function rowNames(nodes: TwoNodes, table: string): Promise<string[]> {
  return lines(await nodes.nbctl(['--bare', '--columns=name', 'list', table])).sort();
}

/** The switches a node's daemon serves (its /status), read inside the node's namespace. */
async function served(node: ClusterNode): Promise<string[]> {
  const out = await node.netns.exec(['curl', '-sf', `http://127.0.0.1:${METRICS_PORT}/status`]);
  return ((JSON.parse(out) as { servedSwitches: string[] }).servedSwitches).sort();
}

t.test('layer3 networks on two nodes', { skip }, async (t) => {
  const nodes = await startTwoNodes(t, { daemonArgs: ['--metrics-port', String(METRICS_PORT)] });
  const { a, b } = nodes;
  const switchA = `${NETWORK}_${a.name}`;
  const switchB = `${NETWORK}_${b.name}`;
  const router = `${NETWORK}_router`;

  t.test('pods on the two nodes: addresses in different node subnets, gateway, route, ping through the router', async (t) => {
    const pa = await attach(t, a, 'l3-a1');
    const pb = await attach(t, b, 'l3-b1');
    t.equal(pa.add.exitCode, 0, pa.add.stdout);
    t.equal(pb.add.exitCode, 0, pb.add.stdout);
    t.same(await rowNames(nodes, 'Logical_Router'), [router], 'one router for the network');
    t.same(await rowNames(nodes, 'Logical_Switch'), [switchA, switchB].sort(), 'one switch per node');
    const keys = await nodeSubnetKeys(nodes, router);
    t.equal(keys.length, 2, `a node subnet per node on the router: ${keys.join(' ')}`);
    const subnetOf = (node: ClusterNode): string => keys.find((k) => k.endsWith(`=${node.name}`))?.split('=')[0] ?? '';
    const [netA, netB] = [subnetOf(a), subnetOf(b)];
    t.match(netA, /^10\.60\.\d+\.0\/24$/, `A has a /24 of the cluster subnet: ${netA}`);
    t.match(netB, /^10\.60\.\d+\.0\/24$/, `B has a /24 of the cluster subnet: ${netB}`);
    t.not(netA, netB, 'the node subnets differ');
    const prefix = (cidr: string): string => cidr.split('.').slice(0, 3).join('.');
    for (const [pod, net] of [[pa, netA], [pb, netB]] as const) {
      const gw = `${prefix(net)}.1`;
      t.equal(prefix(pod.ip), prefix(net), `${pod.id}'s address ${pod.ip} is in its node's subnet ${net}`);
      t.same(pod.add.json?.['ips'], [{ address: `${pod.ip}/24`, gateway: gw, interface: 1 }], `${pod.id}: prefix /24 and the gateway ${gw} in the result`);
      t.same(pod.add.json?.['routes'], [{ dst: CLUSTER, gw }], `${pod.id}: the route to the cluster subnet via ${gw} in the result`);
      t.match(await pod.ns.exec(['ip', 'route', 'show', CLUSTER]), new RegExp(`^${CLUSTER.replaceAll('.', '\\.')} via ${gw.replaceAll('.', '\\.')} dev net1`), `${pod.id}: the route is in the pod`);
    }
    const lrps = lines(await nodes.nbctl(['--bare', '--columns=networks', 'list', 'Logical_Router_Port'])).sort();
    t.same(lrps, [`${prefix(netA)}.1/24`, `${prefix(netB)}.1/24`].sort(), "the router ports hold each node's gateway");
    t.same(lines(await nodes.nbctl(['lsp-list', switchA])).length, 2, "A's switch: A's pod and the router-type port");
    t.same(lines(await nodes.nbctl(['lsp-list', switchB])).length, 2, "B's switch: B's pod and the router-type port");

    t.ok(await ping(pa.ns, pb.ip), `${pa.ip} (A) pings ${pb.ip} (B) through the router`);
    t.ok(await ping(pb.ns, pa.ip), `${pb.ip} (B) pings ${pa.ip} (A)`);

    const again = await a.cni({ command: 'ADD', ...pa.call }, a.config(NETWORK, LAYER3));
    t.same(again.json, pa.add.json, 'ADD twice gives the same result');
    const check = await a.cni({ command: 'CHECK', ...pa.call }, { ...a.config(NETWORK, LAYER3), prevResult: pa.add.json });
    t.equal(check.exitCode, 0, `CHECK passes: ${check.stdout}`);

    t.same(await served(a), [switchA], "A's daemon serves only A's switch");
    t.same(await served(b), [switchB], "B's daemon serves only B's switch");
    // A second pod on A: same node subnet, no new router port or switch.
    const pa2 = await attach(t, a, 'l3-a2');
    t.equal(prefix(pa2.ip), prefix(netA), `a second pod on A is in A's subnet too (${pa2.ip})`);
    t.equal((await nodeSubnetKeys(nodes, router)).length, 2, 'no new node subnet');
    t.ok(await ping(pa2.ns, pb.ip), 'it reaches B too');
    await detach(t, [pa, pa2, pb]);
    t.same(lines(await nodes.nbctl(['--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'type=""'])), [], 'DEL leaves no pod port');
    for (const node of nodes.nodes) {
      t.same(await node.bridgePorts(), [], `no OVS port on ${node.name}`);
      t.same(await node.noHostVeths(), [], `no host veth on ${node.name}`);
    }
  });

  t.test('dual-stack: a node subnet of each family, both routes, IPv4 and IPv6 across the router', async (t) => {
    const dual = { topology: 'layer3', subnets: ['10.70.0.0/16', 'fd00:70::/48'] };
    const pa = await attach(t, a, 'l3-ds-a', dual, 'l3ds');
    const pb = await attach(t, b, 'l3-ds-b', dual, 'l3ds');
    t.equal(pa.add.exitCode, 0, pa.add.stdout);
    t.equal(pb.add.exitCode, 0, pb.add.stdout);
    const keys = await nodeSubnetKeys(nodes, 'l3ds_router');
    t.same(keys.filter((k) => k.includes(':')).length, 2, `an IPv6 /64 per node: ${keys.join(' ')}`);
    const v6 = (pod: Pod): { address: string; gateway?: string } | undefined => (pod.add.json?.['ips'] as Array<{ address: string; gateway?: string }>).find((ip) => ip.address.includes(':'));
    const [a6, b6] = [v6(pa), v6(pb)];
    t.match(a6, { address: /^fd00:70:[0-9a-f:]+\/64$/, gateway: /^fd00:70:[0-9a-f:]*:1$/ }, `A's pod has an IPv6 address of a /64 and its gateway: ${JSON.stringify(a6)}`);
    t.not(a6?.gateway, b6?.gateway, 'the two nodes have different IPv6 gateways');
    for (const pod of [pa, pb]) {
      const routes = pod.add.json?.['routes'] as Array<{ dst: string; gw: string }>;
      t.same(routes.map((r) => r.dst), ['10.70.0.0/16', 'fd00:70::/48'], `${pod.id}: a route to each cluster subnet`);
      t.match(await pod.ns.exec(['ip', '-6', 'route', 'show', 'fd00:70::/48']), new RegExp(`via ${v6(pod)?.gateway ?? '?'} dev net1`), `${pod.id}: the IPv6 route is in the pod`);
    }
    t.ok(await ping(pa.ns, pb.ip), 'IPv4 from A to B');
    const b6Address = b6?.address.split('/')[0] ?? '';
    const reached = await until(`IPv6 ${b6Address} from A`, async () => ((await pingOnce(pa.ns, b6Address, 2)) ? true : undefined), 30_000).catch(() => false);
    t.ok(reached, `IPv6 from A to ${b6Address} on B through the router`);
    await detach(t, [pa, pb], dual, 'l3ds');
  });

  t.test('a second definition under the same name is refused and makes nothing', async (t) => {
    const first = { topology: 'layer3', subnets: ['10.61.0.0/16'] };
    const pa = await attach(t, a, 'l3-def-a', first, 'l3def');
    t.equal(pa.add.exitCode, 0, pa.add.stdout);
    const keysBefore = await nodeSubnetKeys(nodes, 'l3def_router');
    t.equal(keysBefore.length, 1, 'A took one node subnet');
    // B's first ADD with another definition: the router says no before B's switch is made.
    const other = await attach(t, b, 'l3-def-b', { ...first, hostSubnetLength: 25 }, 'l3def');
    t.equal(other.add.json?.['code'], 7, `refused with code 7: ${other.add.stdout}`);
    t.match(String(other.add.json?.['msg']), /^topology: network l3def: this definition differs/, 'the message names the field and why');
    t.notOk((await rowNames(nodes, 'Logical_Switch')).includes(`l3def_${b.name}`), 'no switch was made for B');
    t.same(await nodeSubnetKeys(nodes, 'l3def_router'), keysBefore, 'no node subnet was taken for B');
    // On A, whose switch exists, the same.
    const onA = await attach(t, a, 'l3-def-a2', { ...first, subnets: ['10.62.0.0/16'] }, 'l3def');
    t.equal(onA.add.json?.['code'], 7, `refused on A too: ${onA.add.stdout}`);
    t.equal(lines(await nodes.nbctl(['lsp-list', `l3def_${a.name}`])).length, 2, "A's switch holds its pod and the router-type port, nothing else");
    await detach(t, [pa], first, 'l3def');
  });

  t.test('invalid layer3 definitions are refused with the field named, and make nothing', async (t) => {
    const routersBefore = await rowNames(nodes, 'Logical_Router');
    const switchesBefore = await rowNames(nodes, 'Logical_Switch');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ topology: 'layer3' }, /^subnets: is required for layer3/],
      [{ topology: 'layer3', subnets: ['10.63.0.0/16'], hostSubnetLength: 16 }, /^hostSubnetLength: 16 must be longer than the prefix of 10\.63\.0\.0\/16/],
      [{ topology: 'layer3', subnets: ['10.63.0.0/16'], hostSubnetLength: 31 }, /^hostSubnetLength: 31 leaves no address for a pod/],
      [{ topology: 'layer3', subnets: ['10.63.0.0/16'], hostSubnetLength: 'x' }, /^hostSubnetLength: must be an integer from 1 to 32/],
      [{ topology: 'layer3', subnets: ['10.63.0.0/16'], hostSubnetLengthV6: 64 }, /^hostSubnetLengthV6: the subnets have no IPv6 subnet/],
      [{ topology: 'layer3', subnets: ['10.63.0.0/16'], gateway: '10.63.0.1' }, /^gateway: not for layer3/],
      [{ topology: 'layer2', subnets: ['10.63.0.0/16'], hostSubnetLength: 24 }, /^hostSubnetLength: only for topology layer3/],
    ];
    for (const [i, [config, message]] of cases.entries()) {
      const pod = await attach(t, b, `l3-bad-${i}`, config, 'l3bad');
      t.equal(pod.add.json?.['code'], 7, `${JSON.stringify(config)}: code 7 (${pod.add.stdout})`);
      t.match(String(pod.add.json?.['msg']), message, `${JSON.stringify(config)}: the message names the field`);
    }
    t.same(await rowNames(nodes, 'Logical_Router'), routersBefore, 'no router was made');
    t.same(await rowNames(nodes, 'Logical_Switch'), switchesBefore, 'no switch was made');
    t.same(await b.bridgePorts(), [], 'no OVS port');
    t.same(await b.noHostVeths(), [], 'no host veth');
  });

  t.test("releasing node B frees its switch, router port and node subnet; A's pods are untouched", async (t) => {
    const pa = await attach(t, a, 'l3-rel-a');
    const pb = await attach(t, b, 'l3-rel-b');
    t.equal(pa.add.exitCode, 0, pa.add.stdout);
    t.equal(pb.add.exitCode, 0, pb.add.stdout);
    const keysBefore = await nodeSubnetKeys(nodes, router);
    t.ok(keysBefore.some((k) => k.endsWith(`=${b.name}`)), 'B holds a node subnet');
    const gc = () => execa(DAEMON_BINARY, ['gc', '--node', b.name, '--nb-db', a.env.NB_DB], { reject: false, timeout: 60_000 });
    // B dies: no daemon, its pod gone; an admin releases it meanwhile.
    await b.restartDaemon('SIGTERM', async () => {
      await pb.ns.remove();
      const released = await gc();
      t.equal(released.exitCode, 0, `gc --node ${b.name}: ${released.stdout}${released.stderr}`);
      t.notOk((await rowNames(nodes, 'Logical_Switch')).includes(switchB), "B's switch is gone");
      t.same(await nodeSubnetKeys(nodes, router), keysBefore.filter((k) => !k.endsWith(`=${b.name}`)), "B's node subnet key is gone, A's stays");
      t.same((await rowNames(nodes, 'Logical_Router_Port')).filter((name) => name.includes(NETWORK)), [`omn-rtos-${switchA}`], "B's router port is gone, A's stays");
      t.ok((await rowNames(nodes, 'Logical_Switch')).includes(switchA), "A's switch stays");
    });
    const check = await a.cni({ command: 'CHECK', ...pa.call }, { ...a.config(NETWORK, LAYER3), prevResult: pa.add.json });
    t.equal(check.exitCode, 0, `A's pod still passes CHECK: ${check.stdout}`);
    // B's pod's DEL (its port is gone) succeeds, and B comes back and joins the network again.
    await detach(t, [pb]);
    const pb2 = await attach(t, b, 'l3-rel-b2');
    t.equal(pb2.add.exitCode, 0, `B joins again: ${pb2.add.stdout}`);
    t.ok(await ping(pa.ns, pb2.ip), "A's pod reaches B's new pod");
    await detach(t, [pa, pb2]);
    // A node whose switch holds no pod any more is released too (the controller finds it by its switch).
    await b.restartDaemon('SIGTERM', async () => {
      const again = await gc();
      t.equal(again.exitCode, 0, again.stderr);
      t.notOk((await rowNames(nodes, 'Logical_Switch')).includes(switchB), "B's empty switch is released");
      t.equal((await nodeSubnetKeys(nodes, router)).length, 1, "only A's node subnet is left");
    });
  });

  t.test('nothing is left of any pod', async (t) => {
    t.same(lines(await nodes.nbctl(['--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'type=""'])), [], 'no pod port in the NB');
    for (const node of nodes.nodes) {
      t.same(await node.bridgePorts(), [], `no OVS port on ${node.name}`);
      t.same(await node.noHostVeths(), [], `no host veth on ${node.name}`);
    }
  });
});
