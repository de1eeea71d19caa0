// Crash-safety and faults: the daemon killed after each ADD step, a restart under live traffic,
// containers that vanish without DEL, and the NB or the local Open_vSwitch DB going away.
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { createNetns, type Netns } from '../helpers/netns.ts';
import { until } from '../helpers/until.ts';
import { e2eSkipReason, startDaemon, startNode, type TestNode, type DaemonProcess } from '../helpers/node.ts';

const skip = e2eSkipReason();
const FAST_RECONCILE = ['--reconcile-grace', '300', '--reconcile-interval', '200', '--db-wait', '1000'];

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function nothingLeft(t: Test, node: TestNode, lswitch: string): Promise<void> {
  t.same(await node.switchPorts(lswitch), [], 'no logical switch port');
  t.same(await node.bridgePorts(), [], 'no OVS port');
  t.same(await node.noHostVeths(), [], 'no host veth');
}

/** busybox ping for `seconds` at 10/s in the background; resolves with the packets lost. */
function pingFor(from: Netns, to: string, seconds: number): Promise<number> {
  return execa('ip', ['netns', 'exec', from.name, 'busybox', 'ping', '-c', String(seconds * 10), '-i', '0.1', '-W', '1', to], { reject: false }).then((r) => {
    const m = /(\d+) packets transmitted, (\d+) packets received/.exec(r.stdout);
    return m === null ? Number.POSITIVE_INFINITY : Number(m[1]) - Number(m[2]);
  });
}

t.test('faults', { skip }, async (t) => {
  const node = await startNode(t, { daemon: { extraArgs: FAST_RECONCILE } });
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  let daemon: DaemonProcess = node.daemon;
  const config = node.config('red');
  const restart = async (env: Record<string, string> = {}): Promise<void> => {
    await daemon.stop();
    daemon = await startDaemon(t, node.sandbox, { socket: node.daemon.socket, extraArgs: FAST_RECONCILE, env });
  };

  for (const step of ['logical-port', 'veth', 'pod-interface', 'ovs-port']) {
    for (const recovery of ['retried ADD', 'DEL'] as const) {
      t.test(`daemon SIGKILLed after ADD step ${step}, recovered by ${recovery}`, async (t) => {
        await restart({ OVN_MULTINET_CRASH_AFTER: step });
        const ns = await createNetns(t);
        const call = { containerId: `crash-${step}-${recovery === 'DEL' ? 'd' : 'a'}`, netns: ns.path, ifName: 'net1' };
        const crashed = await node.cni({ command: 'ADD', ...call }, config);
        t.equal(crashed.json?.['code'], 11, `the runtime is told to retry: ${crashed.stdout}`);
        await daemon.exited;
        await restart();
        if (recovery === 'retried ADD') {
          const add = await node.cni({ command: 'ADD', ...call }, config);
          t.equal(add.exitCode, 0, add.stdout);
          const check = await node.cni({ command: 'CHECK', ...call }, { ...config, prevResult: add.json });
          t.equal(check.exitCode, 0, `CHECK after the retried ADD: ${check.stdout}`);
          t.equal((await node.switchPorts('red')).length, 1, 'one port, not two');
        }
        // A DEL that comes before the restarted daemon's first database sessions leaves its part
        // to the reconciler (del.ts); this one must do it itself.
        for (const msg of ['connected to the OVN Northbound database', 'connected to the local Open_vSwitch database']) {
          await until(msg, () => (daemon.logs.some((l) => l['msg'] === msg) ? true : undefined), 15_000);
        }
        const del = await node.cni({ command: 'DEL', ...call }, config);
        t.equal(del.exitCode, 0, del.stdout);
        await nothingLeft(t, node, 'red');
      });
    }
  }

  t.test('a daemon restart (SIGKILL, then SIGTERM) does not disturb running pods', async (t) => {
    const pods = await Promise.all(['rs-a', 'rs-b'].map(async (id) => {
      const ns = await createNetns(t);
      const add = await node.cni({ command: 'ADD', containerId: id, netns: ns.path, ifName: 'net1' }, config);
      t.equal(add.exitCode, 0, add.stdout);
      return { id, ns, ip: String((add.json?.['ips'] as Array<{ address: string }>)[0]?.address).split('/')[0] ?? '' };
    }));
    const [a, b] = pods as [typeof pods[0], typeof pods[0]];
    const lost = pingFor(a.ns, b.ip, 6);
    await new Promise((r) => setTimeout(r, 1000));
    await daemon.kill();
    daemon = await startDaemon(t, node.sandbox, { socket: node.daemon.socket, extraArgs: FAST_RECONCILE });
    await new Promise((r) => setTimeout(r, 1500));
    await restart();
    t.equal(await lost, 0, 'no ping lost across two daemon restarts');
    for (const p of pods) t.equal((await node.cni({ command: 'CHECK', containerId: p.id, netns: p.ns.path, ifName: 'net1' }, config)).exitCode, 0, `${p.id} intact`);
    for (const p of pods) t.equal((await node.cni({ command: 'DEL', containerId: p.id, netns: p.ns.path, ifName: 'net1' }, config)).exitCode, 0);
    await nothingLeft(t, node, 'red');
  });

  t.test('the reconciler removes attachments whose container vanished without DEL, and only those', async (t) => {
    const keep = await createNetns(t);
    const gone = await createNetns(t);
    t.equal((await node.cni({ command: 'ADD', containerId: 'rc-keep', netns: keep.path, ifName: 'net1' }, config)).exitCode, 0);
    t.equal((await node.cni({ command: 'ADD', containerId: 'rc-gone', netns: gone.path, ifName: 'net1' }, config)).exitCode, 0);
    await gone.remove();
    await waitFor('the reconciler', async () => (await node.switchPorts('red')).length === 1);
    t.equal((await node.bridgePorts()).length, 1, 'its OVS port went too');
    await waitFor('its log line', async () => daemon.logs.some((l) => l['msg'] === 'reconciler removed attachment' && l['containerId'] === 'rc-gone'), 5000);
    t.pass('logged what it removed');
    await new Promise((r) => setTimeout(r, 1000));
    const check = await node.cni({ command: 'CHECK', containerId: 'rc-keep', netns: keep.path, ifName: 'net1' }, config);
    t.equal(check.exitCode, 0, `the live attachment survives several passes: ${check.stdout}`);
    t.equal((await node.cni({ command: 'DEL', containerId: 'rc-keep', netns: keep.path, ifName: 'net1' }, config)).exitCode, 0);
    await nothingLeft(t, node, 'red');
  });

  t.test('the reconciler removes a host veth no database records (a DEL that died before the veth)', async (t) => {
    const live = await createNetns(t);
    t.equal((await node.cni({ command: 'ADD', containerId: 'orphan-keep', netns: live.path, ifName: 'net1' }, config)).exitCode, 0);
    // What such a DEL leaves: the host end of a veth named like ours, its pod end in a live netns.
    const pod = await createNetns(t);
    await node.sandbox.exec(['ip', 'link', 'add', 'omn0123456789ab', 'type', 'veth', 'peer', 'name', 'net1', 'netns', pod.name]);
    await node.sandbox.exec(['ip', 'link', 'add', 'omnotours', 'type', 'veth', 'peer', 'name', 'omnotours-p']);
    t.teardown(() => node.sandbox.exec(['ip', 'link', 'del', 'omnotours']).catch(() => undefined));
    await waitFor('the orphan veth to go', async () => !(await node.hostVeths()).includes('omn0123456789ab'));
    t.notMatch(await pod.exec(['ls', '/sys/class/net']), 'net1', 'its pod end went with it');
    // The daemon logs once deleteLink returns, which can be just after the kernel's removal shows.
    await waitFor('its log line', async () => daemon.logs.some((l) => l['msg'] === 'reconciler removed orphan veth' && l['veth'] === 'omn0123456789ab'), 5000);
    t.pass('logged');
    t.ok((await node.hostVeths()).includes('omnotours'), 'a link not named like ours is left alone');
    const check = await node.cni({ command: 'CHECK', containerId: 'orphan-keep', netns: live.path, ifName: 'net1' }, config);
    t.equal(check.exitCode, 0, `a recorded attachment keeps its veth: ${check.stdout}`);
    t.equal((await node.cni({ command: 'DEL', containerId: 'orphan-keep', netns: live.path, ifName: 'net1' }, config)).exitCode, 0);
  });

  t.test('the reconciler frees the guard keys of a port another NB client deleted', async (t) => {
    // A port of another node (no live attachment here: a live one's port comes back instead,
    // lost-ports.test.ts): it holds guard keys on a switch this daemon serves, then an NB client
    // deletes it without them.
    const pod = await createNetns(t);
    t.equal((await node.cni({ command: 'ADD', containerId: 'gk-a', netns: pod.path, ifName: 'net1' }, config)).exitCode, 0, 'the switch is served');
    const port = 'elsewhere-gk';
    const keysOf = async (): Promise<string> => node.sandbox.nbctl(['get', 'logical_switch', 'red', 'external_ids']);
    await node.sandbox.nbctl(['lsp-add', 'red', port, '--', 'set', 'logical_switch', 'red', `external_ids:"ovn-multinet/addr:10.1.0.200"="port:${port}"`]);
    t.match(await keysOf(), `"port:${port}"`, 'the port holds guard keys on its switch');
    await node.sandbox.nbctl(['lsp-del', port]);
    await waitFor('the stale keys to be freed', async () => !(await keysOf()).includes(`"port:${port}"`));
    await waitFor('its log line', async () => daemon.logs.some((l) => l['msg'] === 'reconciler freed the guard keys of a port that is gone' && l['port'] === port), 5000);
    t.pass('logged');
    t.equal((await node.cni({ command: 'DEL', containerId: 'gk-a', netns: pod.path, ifName: 'net1' }, config)).exitCode, 0);
    await nothingLeft(t, node, 'red');
    t.notMatch(await keysOf(), 'ovn-multinet/addr:', 'no guard key left');
  });

  for (const which of ['nb', 'ovs'] as const) {
    const name = which === 'nb' ? 'Northbound' : 'Open_vSwitch';
    t.test(`${name} database unreachable`, async (t) => {
      const live = await createNetns(t);
      const call = { containerId: `down-${which}`, netns: live.path, ifName: 'net1' };
      t.equal((await node.cni({ command: 'ADD', ...call }, config)).exitCode, 0);
      await node.sandbox.db('stop', which);
      t.teardown(() => node.sandbox.db('start', which));

      const fresh = await createNetns(t);
      const started = Date.now();
      const add = await node.cni({ command: 'ADD', containerId: `new-${which}`, netns: fresh.path, ifName: 'net1' }, config);
      t.equal(add.json?.['code'], 11, `ADD: try again later: ${add.stdout}`);
      t.ok(Date.now() - started < 10_000, 'within its deadline');
      t.notMatch(await fresh.exec(['ip', '-o', 'link', 'show']), 'net1', 'nothing in the pod');
      const status = await node.cni({ command: 'STATUS' }, config);
      t.equal(status.json?.['code'], 50, `STATUS: ${status.stdout}`);

      const del = await node.cni({ command: 'DEL', ...call }, config);
      t.equal(del.exitCode, 0, `DEL succeeds anyway: ${del.stdout}`);
      // DEL answers before the kernel has destroyed the pair; it goes without waiting for the database.
      await waitFor('the pod end to go', async () => !(await live.exec(['ip', '-o', 'link', 'show'])).includes('net1'));
      t.pass('the local part is gone without the database');

      await node.sandbox.db('start', which);
      await waitFor('the deferred cleanup', async () => (await node.switchPorts('red')).length === 0 && (await node.bridgePorts()).length === 0);
      await nothingLeft(t, node, 'red');
      t.equal((await node.cni({ command: 'STATUS' }, config)).exitCode, 0, 'STATUS ok again');
    });
  }
});
