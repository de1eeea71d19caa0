// Restart after pods went (issue 19, item 7): pods deleted while the daemon was down (the
// runtime's DEL succeeds without it once the veth is gone) leave their ports and addresses in the
// NB; at start the daemon removes at once, not after the grace period (60 s, the default here),
// this boot's attachments whose host veth and netns are both gone, so on a full network new pods
// fit within 5 s of the start. One whose veth is gone while its netns lives is not "both gone":
// it keeps its address until the grace period ends. One of the pods has ovn-multinet as its IPAM
// only (the reference macvlan plugin's interface): no veth of ours, its netns decides.
import t from 'tap';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostVethName, logicalPortName } from '../../daemon/cni-spec/names.ts';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { CNI_BINARY, e2eSkipReason, startDaemon, startNode } from '../helpers/node.ts';
import { until } from '../helpers/until.ts';

const MACVLAN = '/usr/lib/cni/macvlan';
const skip = e2eSkipReason() || (existsSync(MACVLAN) ? false : `needs ${MACVLAN} (containernetworking-plugins)`);
const CNI_PATH = `${dirname(CNI_BINARY)}:${dirname(MACVLAN)}`;
const SWITCH = 'full';
// .2 to .6: room for five pods.
const ROOM = 5;

t.test('restart after pods went', { skip }, async (t) => {
  const node = await startNode(t);
  await node.sandbox.nbctl(['ls-add', SWITCH, '--', 'set', 'logical_switch', SWITCH, 'other_config:subnet=10.63.0.0/29']);
  const config = node.config(SWITCH);
  await node.sandbox.exec(['ip', 'link', 'add', 'mvl-full', 'type', 'veth', 'peer', 'name', 'mvl-full-p']);
  await node.sandbox.exec(['ip', 'link', 'set', 'mvl-full', 'up']);
  const macvlan = { cniVersion: '1.0.0', name: 'mvfull', type: 'macvlan', master: 'mvl-full', mode: 'bridge', ipam: { type: 'ovn-multinet', logicalSwitch: SWITCH, socket: node.daemon.socket } };
  const call = (id: string, ns: Netns): { containerId: string; netns: string; ifName: string } => ({ containerId: id, netns: ns.path, ifName: 'net1' });
  const old: Array<{ id: string; ns: Netns }> = [];
  for (let i = 0; i < ROOM; i++) {
    const ns = await createNetns(t);
    const id = `gone-${i}`;
    // The last through macvlan, with ovn-multinet as its IPAM.
    const ipamOnly = i === ROOM - 1;
    const out = await node.cni({ command: 'ADD', ...call(id, ns), ...(ipamOnly ? { plugin: MACVLAN, path: CNI_PATH } : {}) }, ipamOnly ? macvlan : config);
    t.equal(out.exitCode, 0, `pod ${id} attached${ipamOnly ? ' (macvlan, ovn-multinet as its IPAM)' : ''}: ${out.stdout}`);
    old.push({ id, ns });
  }
  const spare = await createNetns(t);
  t.not((await node.cni({ command: 'ADD', ...call('too-many', spare) }, config)).exitCode, 0, 'the network is full');
  const guardKeys = async (): Promise<string[]> => [...(await node.sandbox.nbctl(['get', 'logical_switch', SWITCH, 'external_ids'])).matchAll(/"port:([^"]+)"/g)].map((m) => m[1] ?? '');

  // The daemon goes (an upgrade); meanwhile the runtime deletes the pods: their netns, and the
  // veths with them. One pod keeps its netns and loses only its veth: not gone for sure.
  const [kept, ...gone] = old;
  if (kept === undefined) throw new Error('no pods');
  await node.daemon.stop();
  for (const pod of gone) await pod.ns.remove();
  await node.sandbox.exec(['ip', 'link', 'del', hostVethName(kept.id, 'net1')]);
  t.same(await node.noHostVeths(), [], 'no host veth left');

  const fresh: Array<{ id: string; ns: Netns; added: boolean }> = [];
  for (let i = 0; i < gone.length; i++) fresh.push({ id: `fresh-${i}`, ns: await createNetns(t), added: false });
  const spawned = Date.now();
  const daemon = await startDaemon(t, node.sandbox, { socket: node.daemon.socket });
  // From when it listens: starting the executable itself takes seconds on a loaded machine.
  const start = Date.now();
  // The runtime retries a refused ADD: each new pod until it fits.
  const fitted = await until('the new pods to fit', async () => {
    for (const pod of fresh.filter((p) => !p.added)) pod.added = (await node.cni({ command: 'ADD', ...call(pod.id, pod.ns) }, config)).exitCode === 0;
    return fresh.every((p) => p.added) ? Date.now() - start : undefined;
  }, 10_000);
  t.ok(fitted <= 5000, `${fresh.length} new pods attached ${fitted} ms after the daemon's start, when it listened (≤ 5 s)`);

  const ports = await node.switchPorts(SWITCH);
  for (const pod of gone) {
    t.notOk(ports.includes(logicalPortName(pod.id, 'net1')), `${pod.id}: no logical switch port`);
    t.notOk((await guardKeys()).includes(logicalPortName(pod.id, 'net1')), `${pod.id}: no guard key`);
    t.notOk((await node.bridgePorts()).includes(hostVethName(pod.id, 'net1')), `${pod.id}: no OVS port`);
  }
  t.ok(ports.includes(logicalPortName(kept.id, 'net1')), 'the pod whose netns lives keeps its port (the grace period decides)');
  t.equal(ports.length, ROOM, 'the network is full again');
  const removed = daemon.logs.filter((l) => l['msg'] === 'reconciler removed attachment' && l['reason'] === 'its veth and netns were gone at the daemon\'s start');
  t.same(removed.map((l) => l['containerId']).sort(), gone.map((p) => p.id).sort(), 'each removed for that reason');
  t.not((await node.cni({ command: 'ADD', ...call('still-too-many', spare) }, config)).exitCode, 0, 'the kept pod still holds its address');

  for (const pod of [kept, ...fresh]) t.equal((await node.cni({ command: 'DEL', ...call(pod.id, pod.ns) }, config)).exitCode, 0, `DEL ${pod.id}`);
  t.comment(`restart after pods went: ${fresh.length} new pods attached ${fitted} ms after the daemon listened (${start - spawned} ms after its spawn)`);
});
