// Static requests get the allocator's rules (issue 19 item 3): an address or MAC the allocator
// never hands out (exclude_ips, excludeSubnets, a managed network's gateway, the network and
// broadcast addresses, the IPv6 subnet-router anycast address, a router port's address or MAC, a
// multicast or all-zero MAC) is refused with code 7 naming the request's field, and nothing is
// made: no logical switch port, veth, OVS port, guard key, nor a managed network's switch. The
// issue's example: a pod cannot take a localnet network's gateway address, as IPAM mode cannot.
import t, { type Test } from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode, type CniOutcome, type TestNode } from '../helpers/node.ts';

const skip = e2eSkipReason();

const EXISTING = 'rules-ls';
const ROUTER_MAC = '0a:00:00:00:61:fe';
const LOCALNET = { topology: 'localnet', physicalNetworkName: 'physnet9', subnets: ['10.62.0.0/24'], gateway: '10.62.0.1' };
const LAYER2 = { topology: 'layer2', subnets: ['10.63.0.0/24', 'fd63::/64'], excludeSubnets: ['10.63.0.128/25'], gateway: ['10.63.0.254', 'fd63::1'] };

async function add(t: Test, node: TestNode, config: Record<string, unknown>, id: string): Promise<CniOutcome> {
  const ns = await createNetns(t);
  const call = { containerId: id, netns: ns.path, ifName: 'net1' };
  const out = await node.cni({ command: 'ADD', ...call }, config);
  if (out.exitCode === 0) t.teardown(() => node.cni({ command: 'DEL', ...call }, config));
  return out;
}

t.test('static requests get the allocator rules', { skip }, async (t) => {
  const node = await startNode(t);
  const nb = node.sandbox.nbctl.bind(node.sandbox);
  await nb(['ls-add', EXISTING, '--', 'set', 'logical_switch', EXISTING, 'other_config:subnet=10.61.0.0/24', 'other_config:exclude_ips="10.61.0.10..10.61.0.20 10.61.0.30"']);
  // A router on the switch, connected the usual way: a router-type port whose addresses are "router".
  await nb(['lr-add', 'rules-lr']);
  await nb(['lrp-add', 'rules-lr', 'rules-lrp', ROUTER_MAC, '10.61.0.1/24']);
  await nb(['lsp-add', EXISTING, 'rules-rtr', '--', 'lsp-set-type', 'rules-rtr', 'router', '--', 'lsp-set-addresses', 'rules-rtr', 'router', '--', 'lsp-set-options', 'rules-rtr', 'router-port=rules-lrp']);
  const switchIds = async (name: string): Promise<string> => nb(['get', 'logical_switch', name, 'external_ids']);
  const switches = async (name: string): Promise<number> => (await nb(['--bare', '--columns=_uuid', 'find', 'logical_switch', `name=${name}`])).split('\n').filter((l) => l !== '').length;

  /** What exists of ours: ports on the switch, host veths, br-int ports, guard keys. */
  const made = async (sw: string): Promise<Record<string, unknown>> => ({
    ports: (await switches(sw)) === 0 ? 'no switch' : (await node.switchPorts(sw)).filter((p) => p !== 'rules-rtr' && !p.startsWith('omn-localnet-')).sort(),
    veths: (await node.hostVeths()).sort(),
    bridge: (await node.bridgePorts()).sort(),
    guards: (await switches(sw)) === 0 ? [] : [...(await switchIds(sw)).matchAll(/"ovn-multinet\/addr:([^"]+)"/g)].map((m) => m[1]).sort(),
  });

  /** Refused with code 7, the field and the reason named, and nothing made. */
  async function refused(t: Test, sw: string, config: Record<string, unknown>, id: string, field: string, address: string, reason: RegExp): Promise<void> {
    const before = await made(sw);
    const out = await add(t, node, config, id);
    t.equal(out.json?.['code'], 7, `${id}: ${out.stdout}`);
    t.equal(out.json?.['msg'], `${field}: ${address} may not be requested`, `${id}: names the field`);
    t.match(String(out.json?.['details']), reason, `${id}: says why`);
    t.same(await made(sw), before, `${id}: no port, veth, OVS port or guard key made`);
  }

  t.test('an existing switch: exclude_ips, network, broadcast, router port address and MAC', async (t) => {
    const first = await add(t, node, node.config(EXISTING), 'rules-first');
    t.equal(first.exitCode, 0, first.stdout);
    const cases: Array<[string, Record<string, unknown>, string, string, RegExp]> = [
      ['excl-range', { ips: ['10.61.0.15/24'] }, 'runtimeConfig.ips[0]', '10.61.0.15', /other_config:exclude_ips 10\.61\.0\.10\.\.10\.61\.0\.20/],
      ['excl-one', { ips: ['10.61.0.5/24', '10.61.0.30/24'] }, 'runtimeConfig.ips[1]', '10.61.0.30', /exclude_ips 10\.61\.0\.30/],
      ['network', { ips: ['10.61.0.0/24'] }, 'runtimeConfig.ips[0]', '10.61.0.0', /the network address of 10\.61\.0\.0\/24/],
      ['broadcast', { ips: ['10.61.0.255/24'] }, 'runtimeConfig.ips[0]', '10.61.0.255', /the broadcast address of 10\.61\.0\.0\/24/],
      ['router-ip', { ips: ['10.61.0.1/24'] }, 'runtimeConfig.ips[0]', '10.61.0.1', /logical router port/],
      ['router-mac', { mac: ROUTER_MAC }, 'runtimeConfig.mac', ROUTER_MAC, /logical router port/],
    ];
    for (const [id, runtimeConfig, field, address, reason] of cases) {
      await refused(t, EXISTING, node.config(EXISTING, { runtimeConfig }), `rules-${id}`, field, address, reason);
    }
    for (const [id, mac] of [['mcast', '01:00:5e:00:00:07'], ['bcast', 'ff:ff:ff:ff:ff:ff'], ['zero', '00:00:00:00:00:00']]) {
      const before = await made(EXISTING);
      const out = await add(t, node, node.config(EXISTING, { runtimeConfig: { mac } }), `rules-${id ?? ''}`);
      t.equal(out.json?.['code'], 7, out.stdout);
      t.match(String(out.json?.['msg']), /^runtimeConfig\.mac: must be a unicast address/, `${mac}: names the field`);
      t.same(await made(EXISTING), before, `${mac}: nothing made`);
    }
    const fine = await add(t, node, node.config(EXISTING, { runtimeConfig: { ips: ['10.61.0.21/24'], mac: '0a:00:00:00:61:21' } }), 'rules-fine');
    t.equal(fine.exitCode, 0, `an address next to the excluded range may be requested: ${fine.stdout}`);
  });

  t.test("a router's address as the very first request on a switch (its router ports come with the switch's view)", async (t) => {
    await nb(['ls-add', 'rules-ls2', '--', 'set', 'logical_switch', 'rules-ls2', 'other_config:subnet=10.64.0.0/24']);
    await nb(['lrp-add', 'rules-lr', 'rules-lrp2', '0a:00:00:00:64:fe', '10.64.0.1/24']);
    await nb(['lsp-add', 'rules-ls2', 'rules-rtr2', '--', 'lsp-set-type', 'rules-rtr2', 'router', '--', 'lsp-set-addresses', 'rules-rtr2', 'router', '--', 'lsp-set-options', 'rules-rtr2', 'router-port=rules-lrp2']);
    const before = await node.switchPorts('rules-ls2');
    const out = await add(t, node, node.config('rules-ls2', { runtimeConfig: { ips: ['10.64.0.1/24'], mac: '0a:00:00:00:64:fe' } }), 'rules-first-rtr');
    t.equal(out.json?.['code'], 7, out.stdout);
    t.equal(out.json?.['msg'], 'runtimeConfig.ips[0]: 10.64.0.1 may not be requested');
    t.same(await node.switchPorts('rules-ls2'), before, 'nothing made');
  });

  t.test("a localnet network's gateway cannot be taken, before or after its switch exists", async (t) => {
    const config = node.config('rules-phys', LOCALNET);
    const gw = { runtimeConfig: { ips: ['10.62.0.1/24'] } };
    await refused(t, 'rules-phys', { ...config, ...gw }, 'phys-gw-first', 'runtimeConfig.ips[0]', '10.62.0.1', /the network's gateway 10\.62\.0\.1/);
    t.equal(await switches('rules-phys'), 0, 'the refused ADD made no switch');
    const pod = await add(t, node, config, 'phys-pod');
    t.equal(pod.exitCode, 0, pod.stdout);
    await refused(t, 'rules-phys', { ...config, ...gw }, 'phys-gw-later', 'runtimeConfig.ips[0]', '10.62.0.1', /the network's gateway 10\.62\.0\.1/);
    // IPAM mode (another plugin's IPAM) goes through the same check.
    const ipam = { cniVersion: '1.1.0', name: 'rules-phys', type: 'macvlan', master: 'eth0', runtimeConfig: gw.runtimeConfig, ipam: { type: 'ovn-multinet', socket: node.daemon.socket, ...LOCALNET } };
    await refused(t, 'rules-phys', ipam, 'phys-gw-ipam', 'runtimeConfig.ips[0]', '10.62.0.1', /the network's gateway/);
  });

  t.test('a managed layer2 network: excludeSubnets, gateways, IPv6 subnet-router anycast', async (t) => {
    const cases: Array<[string, string, string]> = [
      ['excl', '10.63.0.200', "in the network's excludeSubnets 10.63.0.128/25"],
      ['gw4', '10.63.0.254', "the network's gateway 10.63.0.254"],
      ['gw6', 'fd63::1', "the network's gateway fd63::1"],
      ['anycast', 'fd63::', 'the subnet-router anycast address of fd63::/64'],
    ];
    for (const [id, address, reason] of cases) {
      await refused(t, 'rules-l2', node.config('rules-l2', { ...LAYER2, runtimeConfig: { ips: [address] } }), `l2-${id}`, 'runtimeConfig.ips[0]', address, new RegExp(reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
    t.equal(await switches('rules-l2'), 0, 'no refused ADD made the switch');
  });
});
