// Through containerd's real libcni: `ctr run --cni` runs the installed ovn-multinet for the first
// config in /etc/cni/net.d (eth0), a second plugin call adds net1 as Multus would, and stopping
// a `--rm` run makes containerd send DEL. Nothing is left afterwards.
import t from 'tap';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, rename, rm, writeFile, access } from 'node:fs/promises';
import { startContainerd, BUSYBOX_IMAGE } from '../helpers/containerd.ts';
import { CNI_BINARY, e2eSkipReason, runCni, startNode } from '../helpers/node.ts';

const CONF = '/etc/cni/net.d/00-ovn-multinet-e2e.conflist';
const BIN = '/opt/cni/bin/ovn-multinet';
const skip = e2eSkipReason();

t.test('ctr run --cni attaches through ovn-multinet', { skip }, async (t) => {
  const node = await startNode(t);
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  await node.sandbox.nbctl(['ls-add', 'blue', '--', 'set', 'logical_switch', 'blue', 'other_config:subnet=10.2.0.0/24']);
  const containerd = await startContainerd(t);

  await mkdir('/etc/cni/net.d', { recursive: true });
  await mkdir('/opt/cni/bin', { recursive: true });
  const hadBinary = await access(BIN).then(() => true, () => false);
  if (hadBinary) await rename(BIN, `${BIN}.e2e-saved`);
  t.teardown(async () => {
    await rm(CONF, { force: true });
    await rm(BIN, { force: true });
    if (hadBinary) await rename(`${BIN}.e2e-saved`, BIN);
  });
  await copyFile(CNI_BINARY, BIN);
  // containerd 1.6's libcni reads results up to 1.0.0.
  await writeFile(CONF, JSON.stringify({ cniVersion: '1.0.0', name: 'red', plugins: [{ type: 'ovn-multinet', socket: node.daemon.socket }] }));

  const id = 'e2e-ctr';
  const ctrRun = spawn('ctr', ['-a', containerd.address, '-n', containerd.namespace, 'run', '--rm', '--cni', BUSYBOX_IMAGE, id, 'sleep', '600'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let ctrErr = '';
  ctrRun.stderr.on('data', (d: Buffer) => (ctrErr += d.toString()));
  const exited = new Promise<number | null>((resolve) => ctrRun.once('exit', resolve));
  t.teardown(() => {
    if (ctrRun.exitCode === null) ctrRun.kill('SIGKILL');
  });

  let pid: number | undefined;
  for (let i = 0; i < 200 && pid === undefined && ctrRun.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 50));
    pid = await containerd.taskPid(id);
  }
  t.ok(pid, `task running (ctr: ${ctrErr})`);
  if (pid === undefined) return;

  const eth0 = await containerd.ctr(['task', 'exec', '--exec-id', 'show-eth0', id, 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
  t.match(eth0, /inet 10\.1\.0\.\d+\/24/, 'eth0 on red, configured by containerd through ovn-multinet');
  const ids = await node.sandbox.nbctl(['--bare', '--columns=external_ids', 'list', 'logical_switch_port']);
  t.match(ids, `ovn-multinet/container-id=${containerd.namespace}-${id}`, 'owner is containerd\'s CNI_CONTAINERID');

  const blue = { cniVersion: '1.1.0', name: 'blue', type: 'ovn-multinet', socket: node.daemon.socket };
  const call = { containerId: `${containerd.namespace}-${id}`, netns: `/proc/${pid}/ns/net`, ifName: 'net1' };
  const add = await runCni(undefined, { command: 'ADD', ...call }, blue);
  t.equal(add.exitCode, 0, add.stdout);
  const net1 = await containerd.ctr(['task', 'exec', '--exec-id', 'show-net1', id, 'ip', '-4', '-o', 'addr', 'show', 'net1']);
  t.match(net1, /inet 10\.2\.0\.\d+\/24/, 'net1 on blue');

  t.equal((await runCni(undefined, { command: 'DEL', ...call }, blue)).exitCode, 0);
  await containerd.ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  t.equal(await exited, 137, 'ctr run returns once the task is killed');
  t.same(await node.switchPorts('red'), [], 'containerd sent DEL: no port on red');
  t.same(await node.switchPorts('blue'), [], 'no port on blue');
  t.same(await node.bridgePorts(), [], 'no OVS port');
  t.same(await node.noHostVeths(), [], 'no host veth');
});
