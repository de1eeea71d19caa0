// Network objects (networks.ovn-multinet.io) decide what a pod may reach (issue 19, item 1): with
// --kubeconfig the daemon watches Networks and Namespaces; an ADD for a pod reaches a logical
// switch only through a Network that covers the switch and selects the pod's namespace, whatever
// the config's `name`, and sets portSecurity false, a managed definition or DHCP only as such a
// Network gives them. A refusal is code 104 naming the field, the switch and the namespace, and
// leaves nothing behind (no veth, OVS port, logical switch port, switch or address guard). The
// three bypasses of the issue are each refused: another tenant's switch (or one no Network
// covers, as OVN-Kubernetes' own), portSecurity false, and a localnet switch on a physical
// network or VLAN the admin did not give; in IPAM mode too. `--network-access=by-name` keeps the
// old rule: the Network named like the config, when there is one, must select the namespace.
//
// The fake API server runs inside the sandbox's network namespace, like in k8s.test.ts.
import t, { type Test } from 'tap';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { e2eSkipReason, runCni, startDaemon, type CniOutcome, type DaemonProcess } from '../helpers/node.ts';
import { startSandbox, type Sandbox } from '../helpers/sandbox.ts';
import { startFakeApiServer, type FakeApi } from '../helpers/fake-apiserver.ts';
import { nodeState } from '../helpers/leftovers.ts';

const skip = e2eSkipReason();

interface Attached {
  ns: Netns;
  out: CniOutcome;
}

function harness(sandbox: Sandbox, api: FakeApi, daemon: () => DaemonProcess) {
  let pods = 0;
  /** A pod of `namespace` ADDed with `config` (socket added; a DEL armed at teardown when it worked). */
  async function attach(t: Test, namespace: string, config: Record<string, unknown>): Promise<Attached> {
    const name = `pod-${++pods}`;
    await api.upsert({ namespace, name, uid: `uid-${name}`, nodeName: daemon().nodeName });
    const ns = await createNetns(t);
    const ipam = config['ipam'];
    const full = typeof ipam === 'object' && ipam !== null ? { ...config, ipam: { ...ipam, socket: daemon().socket } } : { ...config, socket: daemon().socket };
    const call = { containerId: `k8s-${name}`, netns: ns.path, ifName: 'net1', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${namespace};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}` };
    const out = await runCni(sandbox, { command: 'ADD', ...call }, full);
    if (out.exitCode === 0) t.teardown(() => runCni(sandbox, { command: 'DEL', ...call }, full));
    return { ns, out };
  }
  /** The ADD is refused with 104 and `msg`, and nothing at all is made. */
  async function refused(t: Test, namespace: string, config: Record<string, unknown>, msg: string | RegExp, details?: RegExp): Promise<Attached> {
    const before = await nodeState(sandbox);
    const a = await attach(t, namespace, config);
    t.equal(a.out.exitCode, 1, a.out.stdout);
    t.equal(a.out.json?.['code'], 104, a.out.stdout);
    t.match(a.out.json?.['msg'], msg);
    if (details !== undefined) t.match(a.out.json?.['details'], details);
    t.same(await nodeState(sandbox), before, 'nothing made: no switch, logical switch port, address guard, br-int port or veth');
    t.same((await a.ns.exec(['ls', '/sys/class/net'])).split(/\s+/).filter((l) => l !== ''), ['lo'], 'no interface in the pod');
    return a;
  }
  return { attach, refused };
}

const plugin = (extra: Record<string, unknown>) => ({ cniVersion: '1.1.0', type: 'ovn-multinet', ...extra });

t.test('access by switch, decided by Network objects', { skip }, async (t) => {
  const sandbox = await startSandbox({ netns: true, t });
  for (const [sw, subnet] of [['red', '10.60.0.0/24'], ['blue', '10.61.0.0/24'], ['vm', '10.63.0.0/24'], ['ovn-k-infra', '10.64.0.0/24']] as const) {
    await sandbox.nbctl(['ls-add', sw, '--', 'set', 'logical_switch', sw, `other_config:subnet=${subnet}`]);
  }
  const api = await startFakeApiServer(t, { netns: sandbox.env.SANDBOX_NETNS });
  await api.upsertNamespace({ name: 'tenant-a', labels: { team: 'a' } });
  await api.upsertNamespace({ name: 'tenant-b', labels: { team: 'b' } });
  // Tenant A's switch, tenant B's switch; a switch for VMs without port security (A); a localnet
  // network on physnet VLAN 10 (A). ovn-k-infra stands for a switch no Network covers.
  await api.upsertNetwork({ name: 'red', logicalSwitch: 'red', namespaceSelector: { matchLabels: { team: 'a' } } });
  await api.upsertNetwork({ name: 'blue', logicalSwitch: 'blue', namespaceSelector: { matchLabels: { team: 'b' } } });
  await api.apply('networks', { metadata: { name: 'vms' }, spec: { logicalSwitch: 'vm', portSecurity: false, namespaceSelector: { matchLabels: { team: 'a' } } } });
  const physDefinition = { topology: 'localnet', physicalNetworkName: 'physnet', vlanID: 10, subnets: ['10.62.0.0/24'] };
  await api.upsertNetwork({ name: 'phys', config: physDefinition, namespaceSelector: { matchLabels: { team: 'a' } } });
  let daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig] });
  const { attach, refused } = harness(sandbox, api, () => daemon);

  t.test('allowed: a switch a Network admitting the namespace covers, whatever the name', async (t) => {
    const a = await attach(t, 'tenant-a', plugin({ name: 'any-name', logicalSwitch: 'red' }));
    t.equal(a.out.exitCode, 0, a.out.stdout);
    t.match(await a.ns.exec(['ip', '-o', 'addr', 'show', 'net1']), /inet 10\.60\.0\.\d+\/24/);
    const b = await attach(t, 'tenant-b', plugin({ name: 'blue' }));
    t.equal(b.out.exitCode, 0, b.out.stdout);
  });

  t.test("another tenant's switch is refused, whatever the name", async (t) => {
    await refused(t, 'tenant-a', plugin({ name: 'red', logicalSwitch: 'blue' }), 'logicalSwitch: no Network admits namespace tenant-a on logical switch "blue"', /Network blue: its namespaceSelector does not select the namespace; namespace labels: \{"team":"a"\}/);
    await refused(t, 'tenant-a', plugin({ name: 'no-such-network', logicalSwitch: 'ovn-k-infra' }), 'logicalSwitch: no Network admits namespace tenant-a on logical switch "ovn-k-infra"', /no Network covers the switch/);
    await refused(t, 'tenant-b', plugin({ name: 'red' }), /no Network admits namespace tenant-b on logical switch "red"/);
  });

  t.test('portSecurity false only where a Network gives it', async (t) => {
    await refused(t, 'tenant-a', plugin({ name: 'red', portSecurity: false }), 'portSecurity: not given to namespace tenant-a on logical switch "red" by any Network admitting it (only a Network sets it)', /Network red: portSecurity: the Network keeps port security on/);
    const vm = await attach(t, 'tenant-a', plugin({ name: 'vms', logicalSwitch: 'vm', portSecurity: false }));
    t.equal(vm.out.exitCode, 0, vm.out.stdout);
    t.equal((await sandbox.nbctl(['--bare', '--columns=port_security', 'find', 'Logical_Switch_Port', 'external_ids:"ovn-multinet/network"=vms'])).trim(), '', 'the Network gave it: no port security');
  });

  t.test('DHCP only as a Network gives it', async (t) => {
    await refused(t, 'tenant-a', plugin({ name: 'red', dhcp: { leaseTime: 600 } }), /^dhcp: not given to namespace tenant-a on logical switch "red"/, /the Network gives no DHCP/);
  });

  t.test('a localnet switch only on the physical network and VLAN a Network gives', async (t) => {
    await refused(t, 'tenant-a', plugin({ name: 'phys', ...physDefinition, physicalNetworkName: 'provider' }), /^physicalNetworkName: not given to namespace tenant-a on logical switch "phys"/, /Network phys: physicalNetworkName: the Network has "physnet", this config "provider"/);
    await refused(t, 'tenant-a', plugin({ name: 'phys', ...physDefinition, vlanID: 99 }), /^vlanID: not given/, /the Network has 10, this config 99/);
    await refused(t, 'tenant-a', plugin({ name: 'mine', logicalSwitch: 'new-localnet', ...physDefinition }), /^logicalSwitch: no Network admits namespace tenant-a on logical switch "new-localnet"/, /no Network covers/);
    await refused(t, 'tenant-a', plugin({ name: 'red', topology: 'localnet', physicalNetworkName: 'physnet', vlanID: 10, subnets: ['10.60.0.0/24'] }), /^topology: not given/, /exposes an existing switch/);
    await refused(t, 'tenant-b', plugin({ name: 'phys', ...physDefinition }), /^logicalSwitch: no Network admits namespace tenant-b on logical switch "phys"/);
    const ok = await attach(t, 'tenant-a', plugin({ name: 'any', logicalSwitch: 'phys', ...physDefinition, subnets: '10.62.0.0/24' }));
    t.equal(ok.out.exitCode, 0, ok.out.stdout);
    t.match(await sandbox.nbctl(['--bare', '--columns=tag,options', 'find', 'Logical_Switch_Port', 'name=omn-localnet-phys']), /10[\s\S]*network_name=physnet/, "the Network's definition made the switch");
  });

  t.test('IPAM mode: the same rule', async (t) => {
    const ipamConfig = (ipam: Record<string, unknown>) => ({ cniVersion: '1.0.0', name: 'mv', type: 'macvlan', ipam: { type: 'ovn-multinet', ...ipam } });
    await refused(t, 'tenant-a', ipamConfig({ logicalSwitch: 'blue' }), 'ipam.logicalSwitch: no Network admits namespace tenant-a on logical switch "blue"');
    await refused(t, 'tenant-a', ipamConfig({ logicalSwitch: 'phys', ...physDefinition, vlanID: 11 }), /^ipam\.vlanID: not given/);
    const ok = await attach(t, 'tenant-a', ipamConfig({ logicalSwitch: 'red' }));
    t.equal(ok.out.exitCode, 0, ok.out.stdout);
    t.match(ok.out.json, { ips: [{ address: /^10\.60\.0\.\d+\/24$/ }] });
  });

  t.test('a relabelled namespace (watch event) lets the next ADD through', async (t) => {
    await api.upsertNamespace({ name: 'tenant-b', labels: { team: 'a' } });
    let b: Attached | undefined;
    // The watch event races the ADD; a refused ADD creates nothing, so retrying is safe.
    for (let i = 0; i < 20; i++) {
      b = await attach(t, 'tenant-b', plugin({ name: 'red' }));
      if (b.out.exitCode === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(b?.out.exitCode, 0, b?.out.stdout ?? '');
    const requests = await api.requests();
    t.notOk(requests.some((r) => /^GET \/api\/v1\/namespaces\/tenant-[ab]$/.test(r)), 'namespaces came from the cache, not a GET');
    t.notOk(requests.some((r) => /^GET \/apis\/ovn-multinet\.io\/v1\/networks\//.test(r)), 'Networks too');
    await api.upsertNamespace({ name: 'tenant-b', labels: { team: 'b' } });
  });

  t.test('--network-access=by-name: the rule before issue 19, exactly', async (t) => {
    await daemon.stop();
    daemon = await startDaemon(t, sandbox, { extraArgs: ['--kubeconfig', api.kubeconfig, '--network-access', 'by-name'] });
    const open = await attach(t, 'tenant-a', plugin({ name: 'no-network-of-this-name', logicalSwitch: 'blue' }));
    t.equal(open.out.exitCode, 0, `a name without a Network is open, whatever its switch: ${open.out.stdout}`);
    const b = await attach(t, 'tenant-b', plugin({ name: 'red' }));
    t.equal(b.out.exitCode, 1, b.out.stderr);
    t.equal(b.out.json?.['code'], 7, b.out.stdout);
    t.equal(b.out.json?.['msg'], 'network red: namespace tenant-b is not selected by its namespaceSelector');
  });
});
