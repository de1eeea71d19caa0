// runtimeConfig.bandwidth (the CNI `bandwidth` capability) as OVN QoS rows on the pod's switch:
// TCP between two pods of one node is held within 10 % of the limit each way, and is far above it
// without one. A repeated ADD updates or removes the rows; DEL, the undo of a failed ADD and the
// reconciler remove them with the port; a refused config leaves nothing behind.
import t, { type Test } from 'tap';
import { logicalPortName } from '../../daemon/cni-spec/names.ts';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, startDaemon, startNode, type TestNode } from '../helpers/node.ts';
import { nodeState } from '../helpers/leftovers.ts';
import { iperf3Rate, MBIT, rateWithin } from '../helpers/traffic.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const SWITCH = 'shaped';

/** The switch's QoS rules as `ovn-nbctl qos-list` prints them, one a line. */
async function qosRules(node: TestNode): Promise<string[]> {
  const out = await node.sandbox.nbctl(['qos-list', SWITCH]);
  return out.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter((l) => l !== '');
}

/** Every QoS row of the NB (not only the switch's): none may outlive its port. */
async function qosRows(node: TestNode): Promise<string[]> {
  const out = await node.sandbox.nbctl(['--bare', '--columns=external_ids', 'list', 'QoS']);
  return out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

t.test('bandwidth as OVN QoS', { skip }, async (t) => {
  const node = await startNode(t);
  await node.sandbox.nbctl(['ls-add', SWITCH, '--', 'set', 'logical_switch', SWITCH, 'other_config:subnet=10.44.0.0/24']);
  const withBandwidth = (bandwidth?: Record<string, unknown>): Record<string, unknown> => node.config(SWITCH, bandwidth === undefined ? {} : { runtimeConfig: { bandwidth } });
  const call = (id: string, ns: Netns): { containerId: string; netns: string; ifName: string } => ({ containerId: id, netns: ns.path, ifName: 'net1' });
  const add = async (t: Test, id: string, ns: Netns, bandwidth?: Record<string, unknown>): Promise<string> => {
    const out = await node.cni({ command: 'ADD', ...call(id, ns) }, withBandwidth(bandwidth));
    t.equal(out.exitCode, 0, `ADD ${id}: ${out.stdout}`);
    return ((out.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address ?? '').split('/')[0] ?? '';
  };

  t.test('limits a pod both ways; a repeated ADD changes and removes the limits; DEL removes the rows', async (t) => {
    const a = await createNetns(t);
    const b = await createNetns(t);
    const lsp = logicalPortName('bw-a', 'net1');
    const limits = { egressRate: 20 * MBIT, ingressRate: 10 * MBIT };
    const first = await node.cni({ command: 'ADD', ...call('bw-a', a) }, withBandwidth(limits));
    t.equal(first.exitCode, 0, first.stdout);
    const ipB = await add(t, 'bw-b', b);
    t.same(await qosRules(node), [`from-lport 2000 (inport == "${lsp}") rate=20000 burst=20000`, `to-lport 2000 (outport == "${lsp}") rate=10000 burst=10000`], 'two QoS rows, bursts of one second by default');
    t.ok((await qosRows(node)).every((ids) => ids.includes(`ovn-multinet/port=${lsp}`)), 'each names its port in external_ids');

    await rateWithin(t, () => iperf3Rate(b, a, ipB), limits.egressRate, 'pod A sends (egress)');
    await rateWithin(t, () => iperf3Rate(b, a, ipB, { reverse: true }), limits.ingressRate, 'pod A receives (ingress)');

    const check = (bandwidth?: Record<string, unknown>) => node.cni({ command: 'CHECK', ...call('bw-a', a) }, { ...withBandwidth(bandwidth), prevResult: first.json });
    t.equal((await check(limits)).exitCode, 0, 'CHECK: both rows there');
    t.match((await check()).json, { code: 101, details: /has a QoS row limiting its egress, which the config does not ask for/ }, 'CHECK without the limits: the rows are named');
    await node.sandbox.nbctl(['qos-del', SWITCH, 'from-lport', '2000', `inport == "${lsp}"`]);
    await until('the row gone from the daemon\'s view', async () => ((await check(limits)).json?.['code'] === 101 ? true : undefined), 5_000);
    t.match((await check(limits)).json, { code: 101, details: /has no QoS row limiting its egress/ }, 'CHECK after an admin deleted the egress row: named');

    const again = await node.cni({ command: 'ADD', ...call('bw-a', a) }, withBandwidth({ egressRate: 30 * MBIT, egressBurst: 6 * MBIT }));
    t.equal(again.exitCode, 0, again.stdout);
    t.same(await qosRules(node), [`from-lport 2000 (inport == "${lsp}") rate=30000 burst=6000`], 'a repeated ADD with another limit: egress updated, ingress removed');

    const unlimited = await node.cni({ command: 'ADD', ...call('bw-a', a) }, withBandwidth());
    t.equal(unlimited.exitCode, 0, unlimited.stdout);
    t.equal(unlimited.stdout, again.stdout, 'the same result each time');
    t.same(await qosRules(node), [], 'a repeated ADD without bandwidth: no row left');
    const free = await iperf3Rate(b, a, ipB);
    t.ok(free > 3 * limits.egressRate, `without a limit pod A sends ${(free / MBIT).toFixed(0)} Mbit/s, far above ${limits.egressRate / MBIT}`);

    await add(t, 'bw-a', a, limits);
    t.equal((await qosRules(node)).length, 2, 'limited again');
    for (const [id, ns] of [['bw-a', a], ['bw-b', b]] as const) t.equal((await node.cni({ command: 'DEL', ...call(id, ns) }, withBandwidth(limits))).exitCode, 0, `DEL ${id}`);
    t.same(await qosRules(node), [], 'DEL: no QoS rule on the switch');
    t.same(await qosRows(node), [], 'DEL: no QoS row in the NB');
  });

  t.test('a bad bandwidth is code 7 naming the field, and leaves nothing behind', async (t) => {
    const ns = await createNetns(t);
    const before = await nodeState(node.sandbox);
    const cases: Array<[unknown, string]> = [
      [{ ingressRate: 0 }, 'runtimeConfig.bandwidth.ingressRate'],
      [{ egressRate: -5 * MBIT }, 'runtimeConfig.bandwidth.egressRate'],
      [{ egressRate: 1.5 * 1000.5 }, 'runtimeConfig.bandwidth.egressRate'],
      [{ ingressRate: '10000000' }, 'runtimeConfig.bandwidth.ingressRate'],
      [{ ingressRate: 10 * MBIT, ingressBurst: 5e15 }, 'runtimeConfig.bandwidth.ingressBurst'],
      [{ egressBurst: MBIT }, 'runtimeConfig.bandwidth.egressBurst'],
      [{ egressRate: MBIT, egresRate: MBIT }, 'runtimeConfig.bandwidth.egresRate'],
      [[MBIT], 'runtimeConfig.bandwidth'],
    ];
    for (const [bandwidth, field] of cases) {
      const out = await node.cni({ command: 'ADD', ...call('bw-bad', ns) }, node.config(SWITCH, { runtimeConfig: { bandwidth } }));
      t.equal(out.exitCode, 1, `${JSON.stringify(bandwidth)}: refused`);
      t.equal(out.json?.['code'], 7, `${JSON.stringify(bandwidth)}: code 7`);
      t.match(String(out.json?.['msg']), `${field}:`, `${JSON.stringify(bandwidth)}: the message names ${field}`);
    }
    t.same(await nodeState(node.sandbox), before, 'no port, row, OVS port or veth left');
    t.same(await qosRows(node), [], 'no QoS row');
  });

  t.test('the undo of a failed ADD removes the rows with the port', async (t) => {
    const ns = await createNetns(t);
    // CNI_IFNAME taken in the pod: found only once the port (and its rows) is committed.
    await ns.exec(['ip', 'link', 'add', 'net1', 'type', 'veth', 'peer', 'name', 'net1-peer']);
    const out = await node.cni({ command: 'ADD', ...call('bw-undo', ns) }, withBandwidth({ egressRate: 5 * MBIT }));
    t.not(out.exitCode, 0, `refused: ${out.stdout}`);
    t.notOk((await node.switchPorts(SWITCH)).includes(logicalPortName('bw-undo', 'net1')), 'no port');
    t.same(await qosRows(node), [], 'no QoS row');
  });

  t.test('a CNI GC removes the rows with the ports it collects', async (t) => {
    const kept = await createNetns(t);
    const gone = await createNetns(t);
    await add(t, 'bw-kept', kept, { egressRate: 5 * MBIT });
    await add(t, 'bw-collected', gone, { egressRate: 5 * MBIT, ingressRate: 5 * MBIT });
    t.equal((await qosRows(node)).length, 3, 'three QoS rows');
    const gc = await node.cni({ command: 'GC' }, node.config(SWITCH, { 'cni.dev/valid-attachments': [{ containerID: 'bw-kept', ifname: 'net1' }] }));
    t.equal(gc.exitCode, 0, `GC: ${gc.stdout}`);
    t.same(await qosRules(node), [`from-lport 2000 (inport == "${logicalPortName('bw-kept', 'net1')}") rate=5000 burst=5000`], 'only the kept pod\'s row is left');
    t.equal((await node.cni({ command: 'DEL', ...call('bw-kept', kept) }, withBandwidth())).exitCode, 0, 'DEL bw-kept');
    t.same(await qosRows(node), [], 'no QoS row');
  });

  t.test('the reconciler removes the rows of a pod that went while the daemon was down', async (t) => {
    const ns = await createNetns(t);
    await add(t, 'bw-gone', ns, { ingressRate: 5 * MBIT });
    t.equal((await qosRows(node)).length, 1, 'one QoS row');
    await node.daemon.stop();
    await ns.remove();
    t.same(await node.noHostVeths(), [], 'its veth went with its netns');
    await startDaemon(t, node.sandbox, { socket: node.daemon.socket });
    await until('the reconciler to remove the port', async () => ((await node.switchPorts(SWITCH)).includes(logicalPortName('bw-gone', 'net1')) ? undefined : true), 20_000);
    t.same(await qosRows(node), [], 'no QoS row');
  });
});
