// Dead nodes on the two-node harness. With Kubernetes: node B dies (its daemon stopped, its pods'
// namespaces deleted); while its Node object is only NotReady its ports stay; once the Node object
// is deleted, the controller (dist/ovn-multinetd controller, fake API server) releases B's logical
// switch ports and their guard keys after the grace period, node A can take the freed addresses
// of the full subnet, and A's pods ping each other throughout and still pass CHECK. Without
// Kubernetes: `ovn-multinetd gc --node` does the same for an admin, and refuses bad input.
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, DAEMON_BINARY } from '../helpers/node.ts';
import { startController } from '../helpers/controller.ts';
import { startFakeApiServer, type FakeApi } from '../helpers/fake-apiserver.ts';
import { ipOf, startTwoNodes, type ClusterPod as Pod, type ClusterNode, type TwoNodes } from '../helpers/two-nodes.ts';
import { sleep, until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const NETWORK = 'dn';
// .1 is left for a gateway: five addresses, .2 to .6.
const SUBNET = '10.30.0.0/29';
const GRACE_MS = 2000;



/** ADD through the node's daemon; with `del`, a DEL is armed at teardown. */
async function attach(t: Test, node: ClusterNode, id: string, del = true): Promise<Pod> {
  const ns = await createNetns(t, 'omdn');
  const call = { containerId: id, netns: ns.path, ifName: 'net1' };
  const add = await node.cni({ command: 'ADD', ...call }, node.config(NETWORK));
  if (del) t.teardown(() => node.cni({ command: 'DEL', ...call }, node.config(NETWORK)));
  return { node, id, ns, ip: ipOf(add), add, call };
}

/** Names of the logical switch ports of a node (the `node` owner key). */
async function portsOfNode(nodes: TwoNodes, node: string): Promise<string[]> {
  const out = await nodes.nbctl(['--bare', '--columns=name', 'find', 'Logical_Switch_Port', `external_ids:"ovn-multinet/node"="${node}"`]);
  return out.split('\n').filter((s) => s !== '').sort();
}

/** The switch's guard keys held by these ports (`port:<name>` values). */
async function guardsOf(nodes: TwoNodes, ports: readonly string[]): Promise<string[]> {
  const ids = await nodes.nbctl(['get', 'logical_switch', NETWORK, 'external_ids']);
  return ports.filter((p) => ids.includes(`"port:${p}"`));
}

/** busybox ping in the background; resolves with transmitted and received counts. */
async function pingFor(from: Netns, to: string, count: number): Promise<{ transmitted: number; received: number; output: string }> {
  const r = await execa('ip', ['netns', 'exec', from.name, 'busybox', 'ping', '-q', '-c', String(count), '-i', '0.2', '-W', '2', to], { reject: false, timeout: (count * 0.2 + 30) * 1000 });
  const m = /(\d+) packets transmitted, (\d+) packets received/.exec(r.stdout);
  return { transmitted: m === null ? 0 : Number(m[1]), received: m === null ? 0 : Number(m[2]), output: `${r.stdout}${r.stderr}` };
}

const node = (name: string, ready: 'True' | 'False') => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: ready }] } });

/** B dies: no daemon, its pods' namespaces (and with them their veth pairs) gone. */
async function killNode(b: ClusterNode, pods: readonly Pod[]): Promise<void> {
  await b.daemon.kill();
  for (const p of pods) await p.ns.remove();
}

t.test('a dead node is released by the controller once its Node object is gone', { skip }, async (t) => {
  const nodes = await startTwoNodes(t);
  const { a, b } = nodes;
  await nodes.nbctl(['ls-add', NETWORK, '--', 'set', 'logical_switch', NETWORK, `other_config:subnet=${SUBNET}`]);
  const api: FakeApi = await startFakeApiServer(t, { netns: a.env.SANDBOX_NETNS });
  await api.apply('nodes', node(a.name, 'True'));
  await api.apply('nodes', node(b.name, 'True'));

  const a1 = await attach(t, a, 'dn-a1');
  const a2 = await attach(t, a, 'dn-a2');
  const bPods = [await attach(t, b, 'dn-b1', false), await attach(t, b, 'dn-b2', false), await attach(t, b, 'dn-b3', false)];
  for (const p of [a1, a2, ...bPods]) t.equal(p.add.exitCode, 0, `ADD ${p.id}: ${p.add.stdout}`);
  const bPorts = await portsOfNode(nodes, b.name);
  const aPorts = await portsOfNode(nodes, a.name);
  t.equal(bPorts.length, 3, 'B has three ports');
  t.same(await guardsOf(nodes, bPorts), bPorts, "B's ports hold guard keys");
  const full = await attach(t, a, 'dn-full');
  t.equal(full.add.exitCode, 1, 'the subnet is full');
  t.match(full.add.json, { code: 102 }, 'no free address');

  const controller = startController(t, { netns: a.env.SANDBOX_NETNS, kubeconfig: api.kubeconfig, nbDb: a.env.NB_DB, api, resyncInterval: '1s', extraArgs: ['--dead-node-grace', `${GRACE_MS}ms`] });
  await controller.leading();

  // A's pods ping each other from before B dies until after its release.
  const pinging = pingFor(a1.ns, a2.ip, 100);

  await t.test('NotReady: its ports stay, even with the node dead', async (t) => {
    await api.apply('nodes', node(b.name, 'False'));
    await killNode(b, bPods);
    await sleep(GRACE_MS + 3000);
    t.same(await portsOfNode(nodes, b.name), bPorts, 'every port of B is still there');
    t.same(await guardsOf(nodes, bPorts), bPorts, 'and its guard keys');
  });

  await t.test('Node deleted: after the grace period its ports and guard keys go', async (t) => {
    const deleted = Date.now();
    await api.remove('nodes', undefined, b.name);
    await until("B's ports released", async () => ((await portsOfNode(nodes, b.name)).length === 0 ? true : undefined), GRACE_MS + 20_000);
    t.ok(Date.now() - deleted >= GRACE_MS, `not before the grace period (${Date.now() - deleted} ms)`);
    t.same(await guardsOf(nodes, bPorts), [], 'no guard key of B is left on the switch');
    // The controller logs once the whole node is released, just after the NB shows it.
    await until('the release logged', () => (controller.logs().includes('Node deleted: its attachments are released') ? true : undefined), 10_000);
    for (const port of bPorts) t.match(controller.logs(), new RegExp(`"port":"${port}"[^\\n]*dead node: logical switch port released`), `the release of ${port} is logged`);
    t.same(await portsOfNode(nodes, a.name), aPorts, 'A keeps its ports');
  });

  await t.test("A's pods never notice; A takes the freed addresses", async (t) => {
    const ping = await pinging;
    t.ok(ping.transmitted > 0 && ping.received === ping.transmitted, `A's pods pinged each other throughout: ${ping.output}`);
    for (const p of [a1, a2]) {
      const check = await a.cni({ command: 'CHECK', ...p.call }, { ...a.config(NETWORK), prevResult: p.add.json });
      t.equal(check.exitCode, 0, `CHECK ${p.id}: ${check.stdout}`);
    }
    const again = [await attach(t, a, 'dn-a3'), await attach(t, a, 'dn-a4'), await attach(t, a, 'dn-a5')];
    for (const p of again) t.equal(p.add.exitCode, 0, `ADD ${p.id} on A: ${p.add.stdout}`);
    t.same(again.map((p) => p.ip).sort(), bPods.map((p) => p.ip).sort(), "A got exactly B's old addresses");
  });

  await t.test('the controller stops cleanly', async (t) => {
    controller.child.kill('SIGTERM');
    await controller.exited;
    t.equal(controller.child.exitCode, 0);
  });
});

t.test('ovn-multinetd gc --node, without Kubernetes', { skip }, async (t) => {
  const nodes = await startTwoNodes(t);
  const { a, b } = nodes;
  await nodes.nbctl(['ls-add', NETWORK, '--', 'set', 'logical_switch', NETWORK, `other_config:subnet=${SUBNET}`]);
  const gc = (args: readonly string[]) => execa(DAEMON_BINARY, ['gc', ...args], { reject: false, timeout: 60_000 });

  const a1 = await attach(t, a, 'gc-a1');
  const bPods = [await attach(t, b, 'gc-b1', false), await attach(t, b, 'gc-b2', false)];
  for (const p of [a1, ...bPods]) t.equal(p.add.exitCode, 0, `ADD ${p.id}: ${p.add.stdout}`);
  await nodes.nbctl(['lsp-add', NETWORK, 'admin-port']);
  const bPorts = await portsOfNode(nodes, b.name);
  const aPorts = await portsOfNode(nodes, a.name);
  await killNode(b, bPods);

  const r = await gc(['--node', b.name, '--nb-db', a.env.NB_DB]);
  t.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.split('\n');
  for (const port of bPorts) t.ok(lines.some((l) => l.startsWith(`removed ${port} from ${NETWORK}: `) && l.includes('container gc-b')), `${port} is printed`);
  t.equal(lines.at(-1), `2 logical switch ports of node ${b.name} removed`);
  t.same(await portsOfNode(nodes, b.name), [], "B's ports are gone");
  t.same(await guardsOf(nodes, bPorts), [], 'and their guard keys');
  t.same(await portsOfNode(nodes, a.name), aPorts, "A's port stays");
  t.match(await nodes.nbctl(['lsp-list', NETWORK]), /admin-port/, "an admin's port stays");
  const check = await a.cni({ command: 'CHECK', ...a1.call }, { ...a.config(NETWORK), prevResult: a1.add.json });
  t.equal(check.exitCode, 0, `CHECK on A: ${check.stdout}`);

  const twice = await gc(['--node', b.name, '--nb-db', a.env.NB_DB]);
  t.equal(twice.exitCode, 0, twice.stderr);
  t.equal(twice.stdout.trim(), `0 logical switch ports of node ${b.name} removed`, 'again: nothing to do');

  const empty = await gc(['--node', '', '--nb-db', a.env.NB_DB]);
  t.not(empty.exitCode, 0, 'an empty --node is refused');
  t.match(empty.stderr, /--node.*must not be empty/);
  const missing = await gc(['--nb-db', a.env.NB_DB]);
  t.not(missing.exitCode, 0, '--node is required');
  t.match(missing.stderr, /--node/);
  const unreachable = await gc(['--node', b.name, '--nb-db', 'unix:/nonexistent/nb.sock', '--timeout', '1s']);
  t.not(unreachable.exitCode, 0, 'an NB that cannot be reached fails');
  t.match(unreachable.stderr, /not done within 1000 ms \(is the NB at unix:\/nonexistent\/nb.sock reachable\?\)/);
});
