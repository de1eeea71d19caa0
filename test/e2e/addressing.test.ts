// Addresses the user chooses and networks that overlap: runtimeConfig ips/mac (as Multus passes
// them) give exactly those, an address in use anywhere on the switch is refused naming its owner
// and nothing is created; CNI_ARGS IP=/MAC= (as Multus passes them to a NAD without capabilities)
// likewise, runtimeConfig winning over them; two switches with the same CIDR are independent,
// traffic never crosses.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode, type TestNode } from '../helpers/node.ts';
import { ping } from '../helpers/traffic.ts';

const skip = e2eSkipReason();

interface Pod {
  ns: Netns;
  ip: string;
  out: Awaited<ReturnType<TestNode['cni']>>;
}

async function attach(t: Test, node: TestNode, network: string, id: string, extra: Record<string, unknown> = {}): Promise<Pod> {
  const ns = await createNetns(t);
  const call = { containerId: id, netns: ns.path, ifName: 'net1' };
  const out = await node.cni({ command: 'ADD', ...call }, node.config(network, extra));
  if (out.exitCode === 0) t.teardown(() => node.cni({ command: 'DEL', ...call }, node.config(network, extra)));
  const ips = out.json?.['ips'] as Array<{ address: string }> | undefined;
  return { ns, ip: ips?.[0]?.address.split('/')[0] ?? '', out };
}

t.test('addressing', { skip }, async (t) => {
  const node = await startNode(t);
  for (const [name, cidr] of [['static', '10.40.0.0/24'], ['ov-a', '10.30.0.0/24'], ['ov-b', '10.30.0.0/24']]) {
    await node.sandbox.nbctl(['ls-add', name ?? '', '--', 'set', 'logical_switch', name ?? '', `other_config:subnet=${cidr}`]);
  }

  t.test('runtimeConfig ips and mac', async (t) => {
    const wanted = { runtimeConfig: { ips: ['10.40.0.50/24'], mac: '0a:00:00:00:40:50' } };
    const a = await attach(t, node, 'static', 'st-a', wanted);
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.same((a.out.json?.['ips'] as unknown[])[0], { address: '10.40.0.50/24', interface: 1 });
    t.equal((a.out.json?.['interfaces'] as Array<{ mac: string }>)[1]?.mac, '0a:00:00:00:40:50');
    t.match(await a.ns.exec(['ip', '-o', 'addr', 'show', 'net1']), 'inet 10.40.0.50/24');
    t.match(await a.ns.exec(['ip', '-o', 'link', 'show', 'net1']), '0a:00:00:00:40:50');
    const [lsp = ''] = await node.switchPorts('static');
    t.match(await node.sandbox.nbctl(['get', 'logical_switch_port', lsp, 'port_security']), '0a:00:00:00:40:50 10.40.0.50', 'port security holds them');

    const b = await attach(t, node, 'static', 'st-b', { runtimeConfig: { ips: ['10.40.0.50/24'] } });
    t.equal(b.out.json?.['code'], 103, `address in use: ${b.out.stdout}`);
    t.match(String(b.out.json?.['msg']), /runtimeConfig\.ips: 10\.40\.0\.50 is already in use/);
    t.match(String(b.out.json?.['details']), /container st-a/, 'names the owner');
    const c = await attach(t, node, 'static', 'st-c', { runtimeConfig: { mac: '0a:00:00:00:40:50' } });
    t.equal(c.out.json?.['code'], 103, `MAC in use: ${c.out.stdout}`);
    t.match(String(c.out.json?.['msg']), /runtimeConfig\.mac/);
    const d = await attach(t, node, 'static', 'st-d', { runtimeConfig: { ips: ['10.41.0.5/24'] } });
    t.equal(d.out.json?.['code'], 7, `outside the subnet: ${d.out.stdout}`);
    t.match(String(d.out.json?.['msg']), /runtimeConfig\.ips\[0\]/);
    t.equal((await node.switchPorts('static')).length, 1, 'the refused ADDs created no port');
    t.equal((await node.hostVeths()).length, 1, 'and no veth');

    const e = await attach(t, node, 'static', 'st-e');
    t.equal(e.out.exitCode, 0, e.out.stdout);
    t.not(e.ip, '10.40.0.50', 'allocation skips the static address');
    t.ok(await ping(e.ns, '10.40.0.50'), 'a dynamic pod reaches the static one');
  });

  t.test('CNI_ARGS IP= and MAC=, with the same rules; runtimeConfig wins over them', async (t) => {
    const add = async (t: Test, id: string, args: string, extra: Record<string, unknown> = {}): Promise<Pod> => {
      const ns = await createNetns(t);
      const call = { containerId: id, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${id};${args}` };
      const out = await node.cni({ command: 'ADD', ...call }, node.config('static', extra));
      // DEL as Multus sends it: without IP= and MAC=.
      if (out.exitCode === 0) t.teardown(() => node.cni({ command: 'DEL', ...call, args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${id}` }, node.config('static', extra)));
      const ips = out.json?.['ips'] as Array<{ address: string }> | undefined;
      return { ns, ip: ips?.[0]?.address ?? '', out };
    };
    const a = await add(t, 'args-a', 'IP=10.40.0.60/24;MAC=0A:00:00:00:40:60');
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.equal(a.ip, '10.40.0.60/24', 'the address of IP=, with its prefix length');
    t.equal((a.out.json?.['interfaces'] as Array<{ mac: string }>)[1]?.mac, '0a:00:00:00:40:60', 'the MAC of MAC=, lower case');
    t.match(await a.ns.exec(['ip', '-o', 'link', 'show', 'net1']), '0a:00:00:00:40:60');
    const b = await add(t, 'args-b', 'IP=10.40.0.61', { runtimeConfig: { ips: ['10.40.0.62/24'] } });
    t.equal(b.ip, '10.40.0.62/24', `runtimeConfig.ips wins over IP=: ${b.out.stdout}`);
    const portsBefore = (await node.switchPorts('static')).length;
    const vethsBefore = (await node.hostVeths()).length;
    const taken = await add(t, 'args-c', 'IP=10.40.0.60');
    t.equal(taken.out.json?.['code'], 103, `an address in use: ${taken.out.stdout}`);
    t.match(String(taken.out.json?.['msg']), /CNI_ARGS IP: 10\.40\.0\.60 is already in use/, 'names where it was asked');
    const outside = await add(t, 'args-d', 'IP=10.41.0.5');
    t.equal(outside.out.json?.['code'], 7, `outside the subnet: ${outside.out.stdout}`);
    t.match(String(outside.out.json?.['msg']), /CNI_ARGS IP\[0\]/);
    const garbled = await add(t, 'args-e', 'IP=10.40.0.999');
    t.equal(garbled.out.json?.['code'], 4, `not an address: ${garbled.out.stdout}`);
    t.match(String(garbled.out.json?.['msg']), /^CNI_ARGS IP\[0\]: must be an IP address/);
    const multicast = await add(t, 'args-f', 'MAC=01:00:5e:00:00:01');
    t.equal(multicast.out.json?.['code'], 4, `a multicast MAC: ${multicast.out.stdout}`);
    t.match(String(multicast.out.json?.['msg']), /^CNI_ARGS MAC: must be a unicast address/);
    t.equal((await node.switchPorts('static')).length, portsBefore, 'the refused ADDs created no port');
    t.equal((await node.hostVeths()).length, vethsBefore, 'and no veth');
  });

  t.test('overlapping subnets are independent', async (t) => {
    const a1 = await attach(t, node, 'ov-a', 'ov-a1');
    const b1 = await attach(t, node, 'ov-b', 'ov-b1');
    t.equal(a1.ip, b1.ip, `the same address (${a1.ip}) on both networks at once`);
    const a2 = await attach(t, node, 'ov-a', 'ov-a2');
    const b2 = await attach(t, node, 'ov-b', 'ov-b2', { runtimeConfig: { ips: ['10.30.0.77/24'] } });
    t.equal(b2.ip, '10.30.0.77');
    t.ok(await ping(a1.ns, a2.ip), 'a1 reaches a2 on its own network');
    t.ok(await ping(b1.ns, b2.ip), 'b1 reaches b2 on its own network');
    t.notOk(await ping(a1.ns, b2.ip), 'a1 never reaches b2: traffic does not cross networks');
    t.notOk(await ping(b1.ns, a2.ip), 'nor b1 a2');
  });
});
