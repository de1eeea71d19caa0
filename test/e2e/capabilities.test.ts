// The DaemonSet runs the daemon as root with NET_ADMIN, SYS_ADMIN and SYS_PTRACE instead of
// privileged (manifests/daemonset.yaml, docs/security.md#permissions). Here the real daemon runs
// with only those in its bounding set (setpriv, as a container runtime's capability list does for
// root) and serves ADD and DEL through the executable for a pod netns under /var/run/netns and for
// one given as /proc/<pid>/ns/net of a root process inside it; without SYS_ADMIN it cannot enter a
// pod's netns, without SYS_PTRACE it cannot open another process's, and nothing is left either way.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { createNetns, type Netns, type Teardown } from '../helpers/netns.ts';
import { e2eSkipReason, startDaemon, startNode, type TestNode } from '../helpers/node.ts';

const SETPRIV = '/usr/bin/setpriv';
const skip = e2eSkipReason() || (existsSync(SETPRIV) ? false : `needs ${SETPRIV} (util-linux)`);

/** The daemon under setpriv with only these capabilities (names as in capabilities(7), lower case). */
const only = (...caps: string[]): string[] => [SETPRIV, `--bounding-set=-all${caps.map((c) => `,+${c}`).join('')}`, '--inh-caps=-all'];
const MANIFEST_CAPS = ['net_admin', 'sys_admin', 'sys_ptrace'];

/** A root process that lives in `ns` until the test ends: its /proc/<pid>/ns/net is the pod netns. */
async function processIn(t: Teardown, ns: Netns): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'sleep', '300'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  // `ip netns exec` enters the namespace and then execs sleep in place: wait until it has.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const exe = child.pid === undefined ? '' : await readlink(`/proc/${child.pid}/exe`).catch(() => '');
    if (exe.endsWith('/sleep')) return `/proc/${String(child.pid)}/ns/net`;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the process did not start in the netns');
}

async function addDel(t: Test, node: TestNode, config: Record<string, unknown>, containerId: string, netns: string): Promise<void> {
  const call = { containerId, netns, ifName: 'net1' };
  const add = await node.cni({ command: 'ADD', ...call }, config);
  t.equal(add.exitCode, 0, `ADD ${netns}: ${add.stdout}`);
  t.match((add.json?.['ips'] as unknown[] | undefined)?.[0], { address: /^10\.71\.0\.\d+\/24$/ });
  const del = await node.cni({ command: 'DEL', ...call }, config);
  t.equal(del.exitCode, 0, `DEL ${netns}: ${del.stdout}`);
  t.same(await node.switchPorts('capnet'), [], 'no logical switch port left');
  t.same(await node.noHostVeths(), [], 'no host veth left');
}

t.test('the daemon with the DaemonSet capabilities only', { skip }, async (t) => {
  const node = await startNode(t, { daemon: { wrapper: only(...MANIFEST_CAPS) } });
  await node.sandbox.nbctl(['ls-add', 'capnet', '--', 'set', 'logical_switch', 'capnet', 'other_config:subnet=10.71.0.0/24']);
  const status = await node.sandbox.exec(['grep', '^CapBnd', `/proc/${String(node.daemon.child.pid)}/status`]);
  t.match(status, /CapBnd:\s+0000000000281000/, 'bounding set: NET_ADMIN (12), SYS_PTRACE (19), SYS_ADMIN (21)');

  t.test('ADD and DEL with a /var/run/netns path', async (t) => {
    const ns = await createNetns(t);
    await addDel(t, node, node.config('capnet'), 'cap-runnetns', ns.path);
  });

  t.test('ADD and DEL with /proc/<pid>/ns/net of a root process', async (t) => {
    const ns = await createNetns(t);
    await addDel(t, node, node.config('capnet'), 'cap-proc', await processIn(t, ns));
  });

  t.test('without SYS_ADMIN: no setns into the pod, nothing left', async (t) => {
    await node.daemon.stop();
    const daemon = await startDaemon(t, node.sandbox, { wrapper: only('net_admin', 'sys_ptrace') });
    const ns = await createNetns(t);
    const add = await node.cni({ command: 'ADD', containerId: 'cap-nosysadmin', netns: ns.path, ifName: 'net1' }, { ...node.config('capnet'), socket: daemon.socket });
    t.equal(add.exitCode, 1);
    t.match(add.json, { code: 100, details: /setns failed: EPERM/ });
    t.same(await node.switchPorts('capnet'), [], 'no logical switch port left');
    t.same(await node.noHostVeths(), [], 'no host veth left');
    await daemon.stop();
  });

  t.test('without SYS_PTRACE: /proc/<pid>/ns/net of a root process cannot be opened', async (t) => {
    const daemon = await startDaemon(t, node.sandbox, { wrapper: only('net_admin', 'sys_admin') });
    const ns = await createNetns(t);
    const add = await node.cni({ command: 'ADD', containerId: 'cap-noptrace', netns: await processIn(t, ns), ifName: 'net1' }, { ...node.config('capnet'), socket: daemon.socket });
    t.equal(add.exitCode, 1);
    // Refused where the path is opened or checked (item 4's nsfs check may come first): EACCES.
    t.match(add.stdout, /EACCES|permission denied/i);
    t.same(await node.switchPorts('capnet'), [], 'no logical switch port left');
    await daemon.stop();
  });
});
