// OVN DHCP for guests (a network config's `dhcp` section), with busybox udhcpc in a pod netns
// standing in for the VM behind the pod interface: with dhcp.guestAddresses the pod interface
// gets no address, the client gets exactly the port's address, router, DNS, domain, MTU, lease
// time and classless routes; a renewal keeps the address; port security drops a guest that takes
// another address; one DHCP_Options row per subnet is shared by the network's ports and follows
// its definition and goes with its switch; a bad dhcp setting is refused with code 7 naming the
// field, leaving nothing. ISC dhclient -6 stands in for a DHCPv6 guest.
import t from 'tap';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';
import { until } from '../helpers/until.ts';

const skip = e2eSkipReason();
const NETWORK = 'vmdhcp';
const BASE = {
  topology: 'layer2',
  subnets: ['10.71.0.0/24'],
  gateway: '10.71.0.1',
  mtu: 1400,
  routes: [{ dst: '192.168.50.0/24', gw: '10.71.0.1' }],
};
const DHCP = { leaseTime: 600, dnsServers: ['10.0.0.10', '10.0.0.11'], domainSearch: ['example.com'], guestAddresses: true };

/** udhcpc's script: writes what the server offered (its environment) for `bound` and `renew`. */
async function dhcpScript(dir: string): Promise<string> {
  const path = join(dir, 'udhcpc.sh');
  await writeFile(path, `#!/bin/sh\ncase "$1" in bound|renew) env > "${dir}/$1.env" ;; esac\nexit 0\n`);
  await chmod(path, 0o755);
  return path;
}

async function lease(pod: Netns, dir: string, script: string, requestIp?: string): Promise<Record<string, string>> {
  await rm(join(dir, 'bound.env'), { force: true });
  const args = ['netns', 'exec', pod.name, 'busybox', 'udhcpc', '-i', 'net1', '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', script, ...(requestIp === undefined ? [] : ['-r', requestIp])];
  const run = await execa('ip', args, { reject: false });
  if (run.exitCode !== 0) throw new Error(`udhcpc: ${run.stderr}`);
  const env = await readFile(join(dir, 'bound.env'), 'utf8');
  return Object.fromEntries(env.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

async function ping(pod: Netns, to: string): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', pod.name, 'busybox', 'ping', '-c', '2', '-W', '1', to], { reject: false });
  return r.exitCode === 0;
}

t.test('OVN DHCP for guests', { skip }, async (t) => {
  const node = await startNode(t);
  const dir = await mkdtemp(join(tmpdir(), 'omn-dhcp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const script = await dhcpScript(dir);
  const vmConfig = node.config(NETWORK, { ...BASE, dhcp: DHCP });
  const plainConfig = node.config(NETWORK, { ...BASE, dhcp: { ...DHCP, guestAddresses: false } });

  const vm = await createNetns(t);
  const peer = await createNetns(t);
  const vmCall = { containerId: 'dhcp-vm', netns: vm.path, ifName: 'net1' };
  const peerCall = { containerId: 'dhcp-peer', netns: peer.path, ifName: 'net1' };
  const added = await node.cni({ command: 'ADD', ...vmCall }, vmConfig);
  t.equal(added.exitCode, 0, added.stdout);
  const ip = String((added.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address).split('/')[0] ?? '';
  t.match(ip, /^10\.71\.0\.\d+$/, `the result reports the port's address ${ip}`);
  t.equal(await vm.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'net1']), '', 'the pod interface has no IPv4 address: the guest takes it');
  const peerAdded = await node.cni({ command: 'ADD', ...peerCall }, plainConfig);
  t.equal(peerAdded.exitCode, 0, peerAdded.stdout);
  const peerIp = String((peerAdded.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address).split('/')[0] ?? '';
  t.match(await peer.exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'net1']), peerIp, 'without guestAddresses the pod interface has its address');

  const offered = await lease(vm, dir, script);
  t.equal(offered['ip'], ip, 'the guest gets exactly the port\'s address');
  t.equal(offered['subnet'], '255.255.255.0');
  t.equal(offered['router'], '10.71.0.1', 'the network\'s gateway as router');
  t.equal(offered['dns'], '10.0.0.10 10.0.0.11', 'the DNS servers');
  t.equal(offered['search'], 'example.com', 'the search domain (option 119)');
  t.equal(offered['mtu'], '1400', 'the MTU');
  t.equal(offered['lease'], '600', 'the lease time');
  t.equal(offered['staticroutes'], '192.168.50.0/24 10.71.0.1', 'the routes as classless static routes');
  t.equal(offered['serverid'], '10.71.0.1', 'served by the gateway\'s address');

  const renewed = await lease(vm, dir, script, ip);
  t.equal(renewed['ip'], ip, 'asked again for its address, the guest keeps it');

  await vm.exec(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'net1']);
  t.ok(await ping(vm, peerIp), 'with its leased address the guest reaches a peer');
  await vm.exec(['ip', 'addr', 'flush', 'dev', 'net1']);
  await vm.exec(['ip', 'addr', 'add', '10.71.0.250/24', 'dev', 'net1']);
  t.notOk(await ping(vm, peerIp), 'with another address it is dropped by port security');

  const rows = async (): Promise<string[]> => (await node.sandbox.nbctl(['--bare', '--columns=_uuid', 'find', 'DHCP_Options', 'cidr=10.71.0.0/24'])).split('\n').filter((l) => l.trim() !== '');
  const [row] = await rows();
  t.equal((await rows()).length, 1, 'one DHCP_Options row for the subnet, shared');
  const portOptions = (await node.sandbox.nbctl(['--bare', '--columns=dhcpv4_options', 'find', 'Logical_Switch_Port', 'external_ids:"ovn-multinet/network"=vmdhcp'])).split('\n').filter((l) => l.trim() !== '');
  t.same(portOptions, [row, row], 'both ports point at it');

  const third = await createNetns(t);
  const thirdCall = { containerId: 'dhcp-third', netns: third.path, ifName: 'net1' };
  t.equal((await node.cni({ command: 'ADD', ...thirdCall }, node.config(NETWORK, { ...BASE, dhcp: { ...DHCP, leaseTime: 900 } }))).exitCode, 0);
  t.equal((await node.sandbox.nbctl(['get', 'DHCP_Options', row ?? '', 'options:lease_time'])).replaceAll('"', ''), '900', 'a changed definition updates the shared row');
  t.same(await rows(), [row], 'still one row');

  // An admin deletes the row (the ports' weak references go with it): the next ADD makes a new one.
  await node.sandbox.nbctl(['destroy', 'DHCP_Options', row ?? '']);
  const fourth = await createNetns(t);
  const fourthCall = { containerId: 'dhcp-fourth', netns: fourth.path, ifName: 'net1' };
  const remade = await node.cni({ command: 'ADD', ...fourthCall }, vmConfig);
  t.equal(remade.exitCode, 0, `an ADD after the row was deleted: ${remade.stdout}`);
  const [again] = await rows();
  t.ok(again !== undefined && again !== row, 'a new row for the subnet');
  t.same(await rows(), [again], 'one');
  t.equal((await node.cni({ command: 'DEL', ...fourthCall }, vmConfig)).exitCode, 0);

  const refusedPod = await createNetns(t);
  const refused = await node.cni({ command: 'ADD', containerId: 'dhcp-bad', netns: refusedPod.path, ifName: 'net1' }, node.config(NETWORK, { ...BASE, dhcp: { leaseTime: 5 } }));
  t.equal(refused.json?.['code'], 7, `refused: ${refused.stdout}`);
  t.match(String(refused.json?.['msg']), /dhcp\.leaseTime/, 'naming the field');
  const badDns = await node.cni({ command: 'ADD', containerId: 'dhcp-bad', netns: refusedPod.path, ifName: 'net1' }, node.config(NETWORK, { ...BASE, dhcp: { dnsServers: ['not-an-ip'] } }));
  t.match(String(badDns.json?.['msg']), /dhcp\.dnsServers\[0\]/, `naming the item: ${badDns.stdout}`);
  t.equal((await node.switchPorts(NETWORK)).length, 3, 'the refused ADDs made no port');

  for (const call of [vmCall, peerCall, thirdCall]) t.equal((await node.cni({ command: 'DEL', ...call }, vmConfig)).exitCode, 0);
  t.same(await node.switchPorts(NETWORK), [], 'no port left');
  t.same(await rows(), [again], 'the row stays while the network does');

  // The network goes (its switch deleted): its DHCP rows go with it.
  await node.sandbox.nbctl(['ls-del', NETWORK]);
  await until('the deleted network\'s DHCP rows to go', async () => ((await rows()).length === 0 ? true : undefined), 5000);
  t.pass('the deleted switch\'s DHCP_Options row was removed');
  await until('the daemon\'s log line', () => (node.daemon.logs.some((entry) => entry['msg'] === 'removed the DHCP options of a deleted switch') ? true : undefined), 5000);
  t.pass('and the daemon says so');
});

/**
 * ISC dhclient -6 in the foreground, one attempt: resolves with the environment its script got
 * for BOUND6 (new_ip6_address, new_dhcp6_name_servers, ...). The script only records it.
 */
async function lease6(pod: Netns, dir: string): Promise<Record<string, string>> {
  const script = join(dir, 'dhclient6.sh');
  const out = join(dir, 'bound6.env');
  await writeFile(script, `#!/bin/sh\n[ "$reason" = BOUND6 ] && env > "${out}"\nexit 0\n`);
  await chmod(script, 0o755);
  await writeFile(join(dir, 'dhclient6.conf'), 'request dhcp6.name-servers, dhcp6.domain-search;\n');
  // dhclient binds to the link-local address, so it must have left DAD's tentative state.
  await until('a usable link-local address', async () => {
    const linkLocal = await pod.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', 'net1', 'scope', 'link']);
    return linkLocal.includes('fe80::') && !linkLocal.includes('tentative') ? true : undefined;
  }, 10_000);
  const client = execa('ip', ['netns', 'exec', pod.name, 'dhclient', '-6', '-d', '-1', '-v', '-cf', join(dir, 'dhclient6.conf'), '-sf', script, '-lf', join(dir, 'leases6'), '-pf', join(dir, 'dhclient6.pid'), 'net1'], { reject: false });
  try {
    await until('a DHCPv6 lease', async () => ((await readFile(out, 'utf8').catch(() => '')).includes('new_ip6_address=') ? true : undefined), 15_000);
  } finally {
    client.kill('SIGTERM');
    await client;
  }
  const env = await readFile(out, 'utf8');
  return Object.fromEntries(env.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'(.*)'$/, '$1')]));
}

t.test('OVN DHCPv6 for guests (ISC dhclient -6)', { skip }, async (t) => {
  const node = await startNode(t);
  const dir = await mkdtemp(join(tmpdir(), 'omn-dhcp6-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const definition = { topology: 'layer2', subnets: ['10.72.0.0/24', 'fd00:72::/64'], dhcp: { dnsServers: ['10.0.0.10', 'fd00:53::53'], domainSearch: ['example.com'], guestAddresses: true } };
  const config = node.config('vmdhcp6', definition);
  const vm = await createNetns(t);
  const call = { containerId: 'dhcp6-vm', netns: vm.path, ifName: 'net1' };
  const added = await node.cni({ command: 'ADD', ...call }, config);
  t.equal(added.exitCode, 0, added.stdout);
  const ips = ((added.json?.['ips'] as Array<{ address: string }> | undefined) ?? []).map((i) => i.address.split('/')[0] ?? '');
  const ip6 = ips.find((a) => a.includes(':')) ?? '';
  t.match(ip6, /^fd00:72::/, `the result reports the port's IPv6 address ${ip6}`);
  t.equal(await vm.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', 'net1', 'scope', 'global']), '', 'the pod interface has no global IPv6 address: the guest takes it');

  const offered = await lease6(vm, dir);
  t.equal(offered['new_ip6_address'], ip6, 'the guest gets exactly the port\'s IPv6 address');
  t.equal(offered['new_dhcp6_name_servers'], 'fd00:53::53', 'the IPv6 DNS servers only');
  // dhclient's script leaves the search list out of its environment; its lease file has it.
  t.match(await readFile(join(dir, 'leases6'), 'utf8'), 'option dhcp6.domain-search "example.com.";', 'the search list');
  const row = (await node.sandbox.nbctl(['--bare', '--columns=_uuid', 'find', 'DHCP_Options', 'cidr="fd00:72::/64"'])).trim();
  const serverId = (await node.sandbox.nbctl(['get', 'DHCP_Options', row, 'options:server_id'])).replaceAll('"', '');
  const duidMac = (offered['new_dhcp6_server_id'] ?? '').split(':').slice(-6).map((byte) => byte.padStart(2, '0')).join(':');
  t.equal(duidMac, serverId, 'served with the row\'s server id (a DUID-LL ending in its MAC)');
  t.equal((await node.cni({ command: 'DEL', ...call }, config)).exitCode, 0);
});

t.test('IPv6 router advertisements from the gateway router port (dhcp.routerAdvertisements)', { skip }, async (t) => {
  const node = await startNode(t);
  const network = 'vmra';
  const definition = { topology: 'layer2', subnets: ['fd00:74::/64'], gateway: 'fd00:74::1', dhcp: { routerAdvertisements: true, guestAddresses: true } };
  const config = node.config(network, definition);
  const anchorNetns = await createNetns(t);
  const anchor = { containerId: 'ra-anchor', netns: anchorNetns.path, ifName: 'net1' };
  t.equal((await node.cni({ command: 'ADD', ...anchor }, config)).exitCode, 0, 'the first ADD makes the network');
  const lrp = 'rtr-vmra';
  const raConfigs = async (): Promise<string> => node.sandbox.nbctl(['get', 'Logical_Router_Port', lrp, 'ipv6_ra_configs']);
  // An admin connects the network to a router whose port is the gateway.
  await node.sandbox.nbctl(['lr-add', 'rtr', '--', 'lrp-add', 'rtr', lrp, '00:00:00:00:74:01', 'fd00:74::1/64']);
  await node.sandbox.nbctl(['lsp-add', network, 'vmra-rtr', '--', 'lsp-set-type', 'vmra-rtr', 'router', '--', 'lsp-set-addresses', 'vmra-rtr', 'router', '--', 'lsp-set-options', 'vmra-rtr', `router-port=${lrp}`]);
  t.equal(await raConfigs(), '{}', 'the router port sends no RAs yet');

  const vm = await createNetns(t);
  const call = { containerId: 'ra-vm', netns: vm.path, ifName: 'net1' };
  // The first ADD after the admin's change sees the router port (scope.refresh); a retried ADD
  // would find its port made and not look again, so there is one.
  const added = await node.cni({ command: 'ADD', ...call }, config);
  t.equal(added.exitCode, 0, added.stdout);
  t.match(await raConfigs(), 'address_mode=dhcpv6_stateful', 'the router port advertises DHCPv6');
  t.match(await raConfigs(), /send_periodic="?true"?/, 'and sends them periodically');

  // The guest's kernel asks (a router solicitation when the link comes up) and learns its
  // default route from the RA; with the M flag and no SLAAC it takes no address by itself.
  await vm.exec(['sysctl', '-qw', 'net.ipv6.conf.net1.accept_ra=1']);
  await vm.exec(['ip', 'link', 'set', 'net1', 'down']);
  await vm.exec(['ip', 'link', 'set', 'net1', 'up']);
  const route = await until('a default route from the RA', async () => {
    const routes = await vm.exec(['ip', '-6', 'route', 'show', 'default']);
    return routes.includes('via fe80::') ? routes : undefined;
  }, 15_000);
  t.match(route, /proto ra/, `the guest's default route came from the RA: ${route}`);
  t.equal(await vm.exec(['ip', '-6', '-o', 'addr', 'show', 'dev', 'net1', 'scope', 'global']), '', 'no SLAAC address: the address comes by DHCPv6');

  // The router is not ovn-multinet's: a mode its owner sets is kept.
  await node.sandbox.nbctl(['set', 'Logical_Router_Port', lrp, 'ipv6_ra_configs:address_mode=dhcpv6_stateless']);
  const other = await createNetns(t);
  const otherCall = { containerId: 'ra-other', netns: other.path, ifName: 'net1' };
  t.equal((await node.cni({ command: 'ADD', ...otherCall }, config)).exitCode, 0);
  t.match(await raConfigs(), 'address_mode=dhcpv6_stateless', 'an ADD leaves the owner\'s address_mode alone');

  const bad = await node.cni({ command: 'ADD', containerId: 'ra-bad', netns: other.path, ifName: 'net2' }, node.config(network, { ...definition, dhcp: { routerAdvertisements: 'yes' } }));
  t.equal(bad.json?.['code'], 7, `refused: ${bad.stdout}`);
  t.match(String(bad.json?.['msg']), /dhcp\.routerAdvertisements/, 'naming the field');
  for (const c of [anchor, call, otherCall]) t.equal((await node.cni({ command: 'DEL', ...c }, config)).exitCode, 0);
});
