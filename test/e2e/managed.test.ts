// Networks defined in the network config: a layer2 network (dual-stack, excluded subnets) made on
// first use and shared by every later ADD; a different definition under the same name refused;
// a race to create it from two daemons ends with one switch; and a localnet network reaching a
// "physical" host over a VLAN on the bridge the node maps the physical network to.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, startDaemon, startNode, type TestNode } from '../helpers/node.ts';
import { ping } from '../helpers/traffic.ts';

const skip = e2eSkipReason();
const LAYER2 = { topology: 'layer2', subnets: ['10.50.0.0/24', 'fd00:50::/64'], excludeSubnets: ['10.50.0.0/28'] };

interface Pod {
  ns: Netns;
  ips: string[];
  out: Awaited<ReturnType<TestNode['cni']>>;
}

async function attach(t: Test, node: TestNode, config: Record<string, unknown>, id: string): Promise<Pod> {
  const ns = await createNetns(t);
  const call = { containerId: id, netns: ns.path, ifName: 'net1' };
  const out = await node.cni({ command: 'ADD', ...call }, config);
  if (out.exitCode === 0) t.teardown(() => node.cni({ command: 'DEL', ...call }, config));
  const ips = ((out.json?.['ips'] as Array<{ address: string }> | undefined) ?? []).map((ip) => ip.address);
  return { ns, ips, out };
}

t.test('managed networks', { skip }, async (t) => {
  const node = await startNode(t);
  const switches = async (name: string): Promise<string[]> =>
    (await node.sandbox.nbctl(['--bare', '--columns=_uuid', 'find', 'logical_switch', `name=${name}`])).split('\n').filter((l) => l !== '');

  t.test('layer2, dual-stack, made on first use', async (t) => {
    const config = node.config('green', LAYER2);
    const a = await attach(t, node, config, 'l2-a');
    const b = await attach(t, node, config, 'l2-b');
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.equal(b.out.exitCode, 0, b.out.stdout);
    t.equal((await switches('green')).length, 1, 'one switch, created by the first ADD');
    const ids = await node.sandbox.nbctl(['get', 'logical_switch', 'green', 'external_ids']);
    t.match(ids, '"ovn-multinet/managed-network"=green');
    t.match(ids, 'ovn-multinet/network-hash');
    t.equal(a.ips.length, 2, `an IPv4 and an IPv6 address: ${a.ips.join(', ')}`);
    const [v4 = '', v6 = ''] = a.ips;
    t.match(v4, /^10\.50\.0\.(\d+)\/24$/);
    t.ok(Number(/\.(\d+)\//.exec(v4)?.[1]) >= 16, 'the excluded 10.50.0.0/28 is skipped');
    t.match(v6, /^fd00:50::[0-9a-f:]+\/64$/);
    const ps = await node.sandbox.nbctl(['--bare', '--columns=port_security', 'find', 'logical_switch_port', 'external_ids:"ovn-multinet/container-id"=l2-a']);
    t.ok(ps.includes(v4.split('/')[0] ?? '') && ps.includes(v6.split('/')[0] ?? ''), `port security holds both addresses: ${ps}`);
    const addr6 = await a.ns.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', 'net1', 'scope', 'global']);
    t.match(addr6, v6);
    t.notMatch(addr6, 'tentative', 'the IPv6 address is usable at once');
    const check = await node.cni({ command: 'CHECK', containerId: 'l2-a', netns: a.ns.path, ifName: 'net1' }, { ...config, prevResult: a.out.json });
    t.equal(check.exitCode, 0, `CHECK finds both addresses: ${check.stdout}`);
    t.ok(await ping(a.ns, (b.ips[0] ?? '').split('/')[0] ?? ''), 'IPv4 ping');
    const b6 = (b.ips[1] ?? '').split('/')[0] ?? '';
    const six = await a.ns.exec(['busybox', 'ping', '-6', '-c', '2', '-W', '2', b6]).then(() => true, () => false);
    t.ok(six, `IPv6 ping to ${b6}`);
  });

  t.test('gateway and routes', async (t) => {
    const config = node.config('routed', { topology: 'layer2', subnets: ['10.53.0.0/24'], gateway: '10.53.0.254', routes: [{ dst: '192.0.2.0/24', gw: '10.53.0.254' }] });
    const a = await attach(t, node, config, 'gw-a');
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.same((a.out.json?.['ips'] as unknown[])[0], { address: `${(a.ips[0] ?? '').split('/')[0] ?? ''}/24`, gateway: '10.53.0.254', interface: 1 }, 'the result names the gateway');
    t.same(a.out.json?.['routes'], [{ dst: '192.0.2.0/24', gw: '10.53.0.254' }]);
    t.notMatch(a.ips[0] ?? '', /^10\.53\.0\.254\//, 'the gateway is never handed out');
    t.match(await a.ns.exec(['ip', 'route', 'show', '192.0.2.0/24']), '192.0.2.0/24 via 10.53.0.254 dev net1', 'the route is in the pod');
  });

  t.test('a refused ADD does not create the network', async (t) => {
    const config = node.config('never', { topology: 'layer2', subnets: ['10.54.0.0/24'] });
    const out = await node.cni({ command: 'ADD', containerId: 'never-a', netns: '/var/run/netns/omt-no-such-netns', ifName: 'net1' }, config);
    t.equal(out.json?.['code'], 3, out.stdout);
    t.same(await switches('never'), [], 'no switch was made for it');
    const ns = await createNetns(t);
    const outside = await node.cni({ command: 'ADD', containerId: 'never-b', netns: ns.path, ifName: 'net1' }, { ...config, runtimeConfig: { ips: ['10.99.0.5/24'] } });
    t.equal(outside.json?.['code'], 7, outside.stdout);
    t.equal(outside.json?.['msg'], 'runtimeConfig.ips[0]: "10.99.0.5" is outside the network\'s subnets');
    t.same(await switches('never'), [], 'a static address outside the subnets leaves no switch either');
  });

  t.test('the same name with another definition is refused, naming both', async (t) => {
    const other = await attach(t, node, node.config('green', { ...LAYER2, subnets: ['10.51.0.0/24'], excludeSubnets: [] }), 'l2-other');
    t.equal(other.out.json?.['code'], 7, other.out.stdout);
    t.match(String(other.out.json?.['msg']), /topology: network green: this definition differs/);
    t.match(String(other.out.json?.['details']), /10\.51\.0\.0\/24.*10\.50\.0\.0\/24/, 'details show both definitions');
    t.equal((await switches('green')).length, 1, 'no second switch');
  });

  t.test('topology on a switch an admin made is refused', async (t) => {
    await node.sandbox.nbctl(['ls-add', 'adminmade']);
    const out = await attach(t, node, node.config('adminmade', { topology: 'layer2' }), 'l2-admin');
    t.equal(out.out.json?.['code'], 7, out.out.stdout);
    t.match(String(out.out.json?.['msg']), /not created by ovn-multinet/);
  });

  t.test('two daemons creating the same network at once make one switch', async (t) => {
    const second = await startDaemon(t, node.sandbox, { nodeName: 'second' });
    const config = node.config('race', { topology: 'layer2', subnets: ['10.52.0.0/24'] });
    const pods = await Promise.all(
      Array.from({ length: 6 }, (_, i) => attach(t, node, { ...config, socket: i % 2 === 0 ? node.daemon.socket : second.socket }, `race-${i}`)),
    );
    for (const p of pods) t.equal(p.out.exitCode, 0, p.out.stdout);
    t.equal((await switches('race')).length, 1, 'one switch');
    t.equal(new Set(pods.map((p) => p.ips[0])).size, 6, 'distinct addresses');
  });

  t.test('localnet reaches a physical host over a VLAN', async (t) => {
    const config = node.config('phys', { topology: 'localnet', physicalNetworkName: 'physnet1', vlanID: 100, subnets: ['10.60.0.0/24'] });
    // The node side: a bridge mapped to physnet1, with an uplink veth to a "physical host". The
    // uplink is an access port of VLAN 100 (the kernel here has no 8021q): OVS delivers to it
    // only what the localnet port sent on VLAN 100, untagged, as a physical switch would.
    const host = await createNetns(t, 'omphy');
    await node.sandbox.vsctl(['add-br', 'br-phys', '--', 'set', 'bridge', 'br-phys', 'datapath_type=netdev']);
    await node.sandbox.vsctl(['set', 'open_vswitch', '.', 'external_ids:ovn-bridge-mappings=physnet1:br-phys']);
    t.teardown(() => node.sandbox.vsctl(['--if-exists', 'del-br', 'br-phys']));
    await node.sandbox.exec(['ip', 'link', 'add', 'omphy-up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.name]);
    t.teardown(() => node.sandbox.exec(['ip', 'link', 'del', 'omphy-up']).catch(() => undefined));
    await node.sandbox.exec(['ip', 'link', 'set', 'omphy-up', 'up']);
    await node.sandbox.vsctl(['add-port', 'br-phys', 'omphy-up', 'tag=100']);
    await host.exec(['ip', 'addr', 'add', '10.60.0.200/24', 'dev', 'eth0']);
    await host.exec(['ip', 'link', 'set', 'eth0', 'up']);

    const pod = await attach(t, node, config, 'phys-a');
    t.equal(pod.out.exitCode, 0, pod.out.stdout);
    const localnet = await node.sandbox.nbctl(['--bare', '--columns=type,options,tag', 'find', 'logical_switch_port', 'name=omn-localnet-phys']);
    t.match(localnet, /localnet/);
    t.match(localnet, /network_name=physnet1/);
    t.match(localnet, /100/);
    t.ok(await ping(pod.ns, '10.60.0.200', { count: 3 }), 'the pod reaches the host on VLAN 100');
    await node.sandbox.vsctl(['set', 'port', 'omphy-up', 'tag=200']);
    t.notOk(await ping(pod.ns, '10.60.0.200', { count: 2 }), 'and not when the host is on another VLAN');
  });
});
