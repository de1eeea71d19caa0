// ADD → CHECK → DEL → DEL through the compiled executable for every supported CNI version, as a
// runtime and as Multus call it; ADD twice; DEL after the netns is gone; STATUS, VERSION and GC.
import t from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';
import { SUPPORTED_VERSIONS, supportsCheck } from '../../daemon/cni-spec/version.ts';
import { hostVethName, logicalPortName } from '../../daemon/cni-spec/names.ts';

const skip = e2eSkipReason();

t.test('attachment lifecycle', { skip }, async (t) => {
  const node = await startNode(t);
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  const red = node.config('red');

  t.test('VERSION answers for each version', async (t) => {
    for (const v of SUPPORTED_VERSIONS) {
      const out = await node.cni({ command: 'VERSION' }, { cniVersion: v });
      t.equal(out.exitCode, 0);
      t.same(out.json, { cniVersion: v, supportedVersions: [...SUPPORTED_VERSIONS] });
    }
  });

  for (const version of SUPPORTED_VERSIONS) {
    t.test(`ADD, CHECK, DEL, DEL at cniVersion ${version}`, async (t) => {
      const ns = await createNetns(t);
      const config = { ...red, cniVersion: version };
      const call = { containerId: `life-${version.replaceAll('.', '')}`, netns: ns.path, ifName: 'net1' };
      const add = await node.cni({ command: 'ADD', ...call }, config);
      t.equal(add.exitCode, 0, add.stdout);
      t.equal(add.json?.['cniVersion'], version);
      const ips = add.json?.['ips'] as Array<Record<string, unknown>>;
      t.equal(ips.length, 1);
      t.match(ips[0]?.['address'], /^10\.1\.0\.\d+\/24$/);
      t.equal(ips[0]?.['interface'], 1);
      t.equal('version' in (ips[0] ?? {}), version.startsWith('0.'), 'ip version field only before 1.0.0');
      const ifaces = add.json?.['interfaces'] as Array<Record<string, unknown>>;
      t.equal(ifaces[1]?.['name'], 'net1');
      t.equal(ifaces[1]?.['sandbox'], ns.path);
      const address = String(ips[0]?.['address']).split('/')[0] ?? '';
      t.match(await ns.exec(['ip', '-o', 'addr', 'show', 'net1']), address, 'address configured in the pod');
      t.equal((await node.switchPorts('red')).length, 1);

      if (supportsCheck(version)) {
        const check = await node.cni({ command: 'CHECK', ...call }, { ...config, prevResult: add.json });
        t.equal(check.exitCode, 0, check.stdout);
        t.equal(check.stdout, '');
      } else {
        const check = await node.cni({ command: 'CHECK', ...call }, config);
        t.equal(check.json?.['code'], 1, 'CHECK is not in this version');
      }

      for (const round of ['first', 'second']) {
        const del = await node.cni({ command: 'DEL', ...call }, config);
        t.equal(del.exitCode, 0, `${round} DEL: ${del.stdout}`);
      }
      t.same(await node.switchPorts('red'), [], 'logical switch port gone');
      t.same(await node.bridgePorts(), [], 'OVS port gone');
      t.same(await node.noHostVeths(), [], 'host veth gone');
      t.equal(await ns.exec(['ip', '-o', 'link', 'show']).then((s) => s.includes('net1')), false, 'pod interface gone');
    });
  }

  t.test('ADD twice returns the same result and creates nothing new', async (t) => {
    const ns = await createNetns(t);
    const call = { command: 'ADD', containerId: 'twice', netns: ns.path, ifName: 'net1' };
    const first = await node.cni(call, red);
    const second = await node.cni(call, red);
    t.equal(first.exitCode, 0, first.stdout);
    t.equal(second.exitCode, 0, second.stdout);
    t.same(second.json, first.json);
    t.equal((await node.switchPorts('red')).length, 1);
    t.equal((await node.bridgePorts()).length, 1);
    t.equal((await node.hostVeths()).length, 1);
    t.equal((await node.cni({ ...call, command: 'DEL' }, red)).exitCode, 0);
  });

  t.test('a br-int port left without its veth (a deferred DEL) is replaced by the next ADD', async (t) => {
    const ns = await createNetns(t);
    const call = { command: 'ADD', containerId: 'stale-ovs', netns: ns.path, ifName: 'net1' };
    const veth = hostVethName(call.containerId, call.ifName);
    await node.sandbox.vsctl(['--no-wait', 'add-port', 'br-int', veth, '--', 'set', 'interface', veth, `external_ids:iface-id=${logicalPortName(call.containerId, call.ifName)}`]);
    const add = await node.cni(call, red);
    t.equal(add.exitCode, 0, add.stdout);
    t.same(await node.bridgePorts(), [veth], 'one br-int port, the attachment\'s');
    t.equal((await node.cni({ ...call, command: 'DEL' }, red)).exitCode, 0);
    t.same(await node.bridgePorts(), []);
  });

  t.test('DEL after the netns is gone', async (t) => {
    const ns = await createNetns(t);
    const call = { containerId: 'gone', netns: ns.path, ifName: 'net1' };
    t.equal((await node.cni({ command: 'ADD', ...call }, red)).exitCode, 0);
    await ns.remove();
    const del = await node.cni({ command: 'DEL', ...call }, red);
    t.equal(del.exitCode, 0, del.stdout);
    const delNoNetns = await node.cni({ command: 'DEL', containerId: 'gone', ifName: 'net1' }, red);
    t.equal(delNoNetns.exitCode, 0, 'DEL without CNI_NETNS');
    t.same(await node.switchPorts('red'), []);
    t.same(await node.bridgePorts(), []);
    t.same(await node.noHostVeths(), []);
  });

  t.test('as a Multus delegate: K8S_POD_* land in the port owner ids', async (t) => {
    const ns = await createNetns(t);
    const call = {
      containerId: 'multus1',
      netns: ns.path,
      ifName: 'net1',
      args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=tenant-a;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=multus1;K8S_POD_UID=1234-abcd',
    };
    const add = await node.cni({ command: 'ADD', ...call }, { ...red, cniVersion: '1.0.0' });
    t.equal(add.exitCode, 0, add.stdout);
    const [lsp = ''] = await node.switchPorts('red');
    const ids = await node.sandbox.nbctl(['get', 'logical_switch_port', lsp, 'external_ids']);
    for (const want of ['"ovn-multinet/pod-namespace"=tenant-a', '"ovn-multinet/pod-name"=web-0', '"ovn-multinet/pod-uid"="1234-abcd"', '"ovn-multinet/container-id"=multus1', '"ovn-multinet/ifname"=net1']) {
      t.ok(ids.includes(want), `${want} in ${ids}`);
    }
    const ps = await node.sandbox.nbctl(['get', 'logical_switch_port', lsp, 'port_security']);
    t.match(ps, /0a:58:0a:01:00:\w\w 10\.1\.0\.\d+/, 'port security holds MAC and IP');
    t.equal((await node.cni({ command: 'DEL', ...call }, red)).exitCode, 0);
  });

  t.test('a switch without a subnet gives an L2-only port', async (t) => {
    await node.sandbox.nbctl(['ls-add', 'l2only']);
    const ns = await createNetns(t);
    const call = { containerId: 'l2', netns: ns.path, ifName: 'net1' };
    const add = await node.cni({ command: 'ADD', ...call }, node.config('l2only'));
    t.equal(add.exitCode, 0, add.stdout);
    t.same(add.json?.['ips'], []);
    const mac = String((add.json?.['interfaces'] as Array<Record<string, unknown>>)[1]?.['mac']);
    t.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    t.match(await ns.exec(['ip', '-o', 'link', 'show', 'net1']), mac);
    t.equal((await node.cni({ command: 'DEL', ...call }, node.config('l2only'))).exitCode, 0);
  });

  t.test('STATUS succeeds while both databases are reachable', async (t) => {
    const out = await node.cni({ command: 'STATUS' }, red);
    t.equal(out.exitCode, 0, out.stdout);
    const old = await node.cni({ command: 'STATUS' }, { ...red, cniVersion: '1.0.0' });
    t.equal(old.json?.['code'], 1, 'STATUS needs 1.1.0');
  });

  t.test('GC removes this network\'s attachments that are not valid any more', async (t) => {
    const keep = await createNetns(t);
    const drop = await createNetns(t);
    t.equal((await node.cni({ command: 'ADD', containerId: 'keep', netns: keep.path, ifName: 'net1' }, red)).exitCode, 0);
    t.equal((await node.cni({ command: 'ADD', containerId: 'drop', netns: drop.path, ifName: 'net1' }, red)).exitCode, 0);
    // Without cni.dev/valid-attachments a GC would take live attachments: refused, nothing removed.
    const unlisted = await node.cni({ command: 'GC' }, red);
    t.equal(unlisted.exitCode, 1, unlisted.stdout);
    t.equal(unlisted.json?.['code'], 7, unlisted.stdout);
    t.match(String(unlisted.json?.['msg']), 'cni.dev/valid-attachments', 'names the missing key');
    t.equal((await node.switchPorts('red')).length, 2, 'both ports still there');
    t.equal((await node.bridgePorts()).length, 2);
    t.match(await drop.exec(['ip', '-o', 'link', 'show']), 'net1', 'the unlisted attachment survives');
    const gc = await node.cni({ command: 'GC' }, { ...red, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'net1' }] });
    t.equal(gc.exitCode, 0, gc.stdout);
    t.equal((await node.switchPorts('red')).length, 1, 'one port left');
    t.equal((await node.bridgePorts()).length, 1);
    t.match(await keep.exec(['ip', '-o', 'link', 'show']), 'net1', 'kept attachment untouched');
    t.notMatch(await drop.exec(['ip', '-o', 'link', 'show']), 'net1', 'dropped attachment gone');
    t.equal((await node.cni({ command: 'DEL', containerId: 'keep', netns: keep.path, ifName: 'net1' }, red)).exitCode, 0);
  });

  t.test('STATUS answers 50 while the NB is unreachable', async (t) => {
    await node.sandbox.exec(['ovs-appctl', '-t', `${node.env.OVN_RUNDIR}/ovnnb_db.ctl`, 'exit']);
    let out = await node.cni({ command: 'STATUS' }, red);
    for (let i = 0; i < 50 && out.exitCode === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      out = await node.cni({ command: 'STATUS' }, red);
    }
    t.equal(out.json?.['code'], 50, out.stdout);
    t.match(String(out.json?.['msg']), /Northbound/);
  });
});
