// Two pods on one logical switch talk (ping and TCP), and port security drops a pod that spoofs
// its source IP or MAC, unless the network config turns port security off.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode, type TestNode } from '../helpers/node.ts';
import { ping, tcpTransfer } from '../helpers/traffic.ts';

const skip = e2eSkipReason();

async function attach(t: Test, node: TestNode, network: string, id: string, extra: Record<string, unknown> = {}): Promise<{ ns: Netns; ip: string }> {
  const ns = await createNetns(t);
  const call = { containerId: id, netns: ns.path, ifName: 'net1' };
  const add = await node.cni({ command: 'ADD', ...call }, node.config(network, extra));
  t.equal(add.exitCode, 0, add.stdout);
  t.teardown(() => node.cni({ command: 'DEL', ...call }, node.config(network, extra)));
  const ips = add.json?.['ips'] as Array<{ address: string }>;
  return { ns, ip: ips[0]?.address.split('/')[0] ?? '' };
}

t.test('traffic on a logical switch', { skip }, async (t) => {
  const node = await startNode(t);
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  await node.sandbox.nbctl(['ls-add', 'open', '--', 'set', 'logical_switch', 'open', 'other_config:subnet=10.2.0.0/24']);

  t.test('two pods ping and exchange TCP', async (t) => {
    const a = await attach(t, node, 'red', 'tr-a');
    const b = await attach(t, node, 'red', 'tr-b');
    t.ok(await ping(a.ns, b.ip), `${a.ip} pings ${b.ip}`);
    t.ok(await ping(b.ns, a.ip), `${b.ip} pings ${a.ip}`);
    t.equal(await tcpTransfer(b.ns, a.ns, b.ip, 4_000_000), 4_000_000, 'TCP carries 4 MB intact (checksums good)');
  });

  t.test('port security drops a spoofed source IP and a spoofed source MAC', async (t) => {
    const a = await attach(t, node, 'red', 'ps-a');
    const b = await attach(t, node, 'red', 'ps-b');
    t.ok(await ping(a.ns, b.ip), 'control: the real address gets through');
    await a.ns.exec(['ip', 'addr', 'add', '10.1.0.200/24', 'dev', 'net1']);
    t.notOk(await ping(a.ns, b.ip, { source: '10.1.0.200' }), 'spoofed source IP is dropped');
    await a.ns.exec(['ip', 'addr', 'del', '10.1.0.200/24', 'dev', 'net1']);
    await a.ns.exec(['ip', 'link', 'set', 'net1', 'address', '0a:58:0a:01:00:fe']);
    await a.ns.exec(['ip', 'neigh', 'flush', 'all']);
    await b.ns.exec(['ip', 'neigh', 'flush', 'all']);
    t.notOk(await ping(a.ns, b.ip), 'spoofed source MAC is dropped');
  });

  t.test('with portSecurity false the same spoof gets through (the drop above is port security)', async (t) => {
    const extra = { portSecurity: false };
    const a = await attach(t, node, 'open', 'np-a', extra);
    const b = await attach(t, node, 'open', 'np-b', extra);
    await a.ns.exec(['ip', 'addr', 'add', '10.2.0.200/24', 'dev', 'net1']);
    t.ok(await ping(a.ns, b.ip, { source: '10.2.0.200' }), 'spoofed source IP passes without port security');
  });
});
