// Bad env and config through the compiled executable, with the daemon running: each case gets
// the spec's error code and a message naming the field, and leaves nothing behind. Also: an
// unknown switch, and ADDs that fail mid-way (after the NB port exists; while waiting for the
// binding) take back everything they did.
import t from 'tap';
import { writeFile, rm } from 'node:fs/promises';
import { createNetns, uniqueName } from '../helpers/netns.ts';
import { e2eSkipReason, startDaemon, startNode, type CniCall } from '../helpers/node.ts';

const skip = e2eSkipReason();

interface Case {
  name: string;
  call?: Partial<CniCall>;
  /** Config changes; `raw` replaces stdin entirely. */
  config?: Record<string, unknown>;
  raw?: string;
  code: number;
  field: string;
}

t.test('bad input', { skip }, async (t) => {
  const node = await startNode(t);
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  const pod = await createNetns(t);
  const regularFile = `/var/run/netns/${uniqueName('omfile')}`;
  await writeFile(regularFile, 'not a netns');
  t.teardown(() => rm(regularFile, { force: true }));
  const good: CniCall = { command: 'ADD', containerId: 'bad1', netns: pod.path, ifName: 'net1' };
  const daemonPid = node.daemon.child.pid ?? 0;

  const cases: Case[] = [
    { name: 'empty CNI_COMMAND', call: { command: '' }, code: 4, field: 'CNI_COMMAND' },
    { name: 'unknown CNI_COMMAND', call: { command: 'ATTACH' }, code: 4, field: 'CNI_COMMAND' },
    { name: 'no CNI_CONTAINERID', call: { containerId: undefined }, code: 4, field: 'CNI_CONTAINERID' },
    { name: 'bad CNI_CONTAINERID', call: { containerId: 'a;rm -rf' }, code: 4, field: 'CNI_CONTAINERID' },
    { name: 'no CNI_NETNS', call: { netns: undefined }, code: 4, field: 'CNI_NETNS' },
    { name: 'relative CNI_NETNS', call: { netns: 'netns/x' }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS outside /proc and /var/run/netns', call: { netns: '/etc/hostname' }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS a regular file', call: { netns: regularFile }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS missing', call: { netns: '/var/run/netns/no-such-netns' }, code: 3, field: 'CNI_NETNS' },
    // Only the netns path forms, an nsfs file, never the daemon's own netns (issue 19 item 4).
    { name: 'CNI_NETNS the daemon\'s own netns', call: { netns: `/proc/${daemonPid}/ns/net` }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS the daemon\'s own netns, by thread', call: { netns: `/proc/${daemonPid}/task/${daemonPid}/ns/net` }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS /proc/self/ns/net', call: { netns: '/proc/self/ns/net' }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS through /proc/<pid>/root', call: { netns: `/proc/${daemonPid}/root${pod.path}` }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS a tmpfs file under /run/netns', call: { netns: regularFile.replace('/var/run/', '/run/') }, code: 4, field: 'CNI_NETNS' },
    { name: 'CNI_NETNS another namespace type', call: { netns: `/proc/${daemonPid}/ns/uts` }, code: 4, field: 'CNI_NETNS' },
    { name: 'no CNI_IFNAME', call: { ifName: undefined }, code: 4, field: 'CNI_IFNAME' },
    { name: 'CNI_IFNAME too long', call: { ifName: 'net1234567890123' }, code: 4, field: 'CNI_IFNAME' },
    { name: 'CNI_IFNAME with /', call: { ifName: 'a/b' }, code: 4, field: 'CNI_IFNAME' },
    { name: 'CNI_IFNAME ..', call: { ifName: '..' }, code: 4, field: 'CNI_IFNAME' },
    { name: 'bad CNI_ARGS', call: { args: 'K8S_POD_NAME' }, code: 4, field: 'CNI_ARGS' },
    { name: 'stdin not JSON', raw: '{"cniVersion":', code: 6, field: 'JSON' },
    { name: 'stdin empty', raw: '', code: 6, field: 'JSON' },
    { name: 'stdin an array', raw: '[]', code: 6, field: 'object' },
    { name: 'unsupported cniVersion', config: { cniVersion: '0.2.0' }, code: 1, field: 'cniVersion' },
    { name: 'future cniVersion', config: { cniVersion: '2.0.0' }, code: 1, field: 'cniVersion' },
    { name: 'no cniVersion', config: { cniVersion: undefined }, code: 7, field: 'cniVersion' },
    { name: 'no name', config: { name: undefined }, code: 7, field: 'name' },
    { name: 'name with spaces', config: { name: 'my net' }, code: 7, field: 'name' },
    { name: 'no type', config: { type: undefined }, code: 7, field: 'type' },
    { name: 'mtu a string', config: { mtu: '1400' }, code: 7, field: 'mtu' },
    { name: 'mtu huge', config: { mtu: 99999999 }, code: 7, field: 'mtu' },
    { name: 'logicalSwitch a number', config: { logicalSwitch: 5 }, code: 7, field: 'logicalSwitch' },
    { name: 'unknown logical switch', config: { logicalSwitch: 'no-such-switch' }, code: 7, field: 'no-such-switch' },
    { name: 'socket relative', config: { socket: 'cni.sock' }, code: 7, field: 'socket' },
    { name: 'ipam section', config: { ipam: { type: 'host-local' } }, code: 2, field: 'ipam' },
    { name: 'portSecurity a string', config: { portSecurity: 'yes' }, code: 7, field: 'portSecurity' },
    { name: 'CHECK at 0.3.1', call: { command: 'CHECK' }, config: { cniVersion: '0.3.1' }, code: 1, field: 'CHECK' },
    { name: 'GC at 1.0.0', call: { command: 'GC' }, config: { cniVersion: '1.0.0' }, code: 1, field: 'GC' },
  ];

  for (const c of cases) {
    t.test(c.name, async (t) => {
      const config = { ...node.config('red'), ...c.config };
      for (const [k, v] of Object.entries(config)) if (v === undefined) delete config[k];
      const out = await node.cni({ ...good, ...c.call }, c.raw ?? config);
      t.equal(out.exitCode, 1, 'non-zero exit');
      t.equal(out.json?.['code'], c.code, `code ${c.code}: ${out.stdout}`);
      t.ok(String(out.json?.['msg']).includes(c.field), `msg names ${c.field}`);
      t.type(out.json?.['cniVersion'], 'string', 'error carries cniVersion');
      t.same(await node.switchPorts('red'), [], 'no logical switch port');
      t.same(await node.bridgePorts(), [], 'no OVS port');
      t.same(await node.hostVeths(), [], 'no host veth');
      t.notMatch(await pod.exec(['ip', '-o', 'link', 'show']), 'net1', 'no pod interface');
    });
  }

  t.test('the daemon still serves after all of that', async (t) => {
    const add = await node.cni(good, node.config('red'));
    t.equal(add.exitCode, 0, add.stdout);
    t.equal((await node.cni({ ...good, command: 'DEL' }, node.config('red'))).exitCode, 0);
  });

  t.test('a step failing after the NB port exists leaves nothing (ifname taken in the pod)', async (t) => {
    const out = await node.cni({ ...good, containerId: 'clash', ifName: 'lo' }, node.config('red'));
    t.equal(out.exitCode, 1, out.stdout);
    t.equal(out.json?.['code'], 100);
    t.same(await node.switchPorts('red'), [], 'logical switch port taken back (address released)');
    t.same(await node.bridgePorts(), []);
    t.same(await node.hostVeths(), []);
    t.match(await pod.exec(['ip', '-o', 'link', 'show', 'lo']), 'lo', "the pod's own lo is untouched");
  });

  t.test('the binding never comes: ADD fails with 11 at its deadline and rolls back', async (t) => {
    const quick = await startDaemon(t, node.sandbox, { nodeName: 'quick', extraArgs: ['--request-timeout', '2000'] });
    await node.sandbox.appctl('ovn-controller', ['exit']);
    const started = Date.now();
    const out = await node.cni({ ...good, containerId: 'nobind' }, { ...node.config('red'), socket: quick.socket });
    t.equal(out.json?.['code'], 11, out.stdout);
    t.ok(Date.now() - started >= 1900, 'waited for the deadline');
    t.same(await node.switchPorts('red'), [], 'no logical switch port');
    t.same(await node.bridgePorts(), [], 'no OVS port');
    t.same(await node.hostVeths(), [], 'no host veth');
    t.notMatch(await pod.exec(['ip', '-o', 'link', 'show']), 'net1', 'no pod interface');
  });
});
