// Busy is not dead (docs/scale.md#busy-is-not-dead): a daemon whose NB is frozen (SIGSTOP: its
// connections open, nothing answered, as a single-threaded ovsdb-server evaluating a large
// monitor) for three times the daemon's --db-inactivity-probe keeps its session, and an ADD that
// arrived during the freeze (the network's first use on the node: its switch is brought into the
// daemon's view then) succeeds once the NB thaws, without code 11.
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';

const skip = e2eSkipReason();
const PROBE_MS = 1500;

t.test('an ADD during a frozen NB succeeds after the thaw', { skip }, async (t) => {
  // A short probe keeps the test fast; a short --db-wait makes any drop show: the old probe
  // dropped a silent NB within one probe, and a request then waited only --db-wait for it.
  const node = await startNode(t, { daemon: { extraArgs: ['--db-inactivity-probe', String(PROBE_MS), '--db-wait', '1000'] } });
  await node.sandbox.nbctl(['ls-add', 'busy', '--', 'set', 'logical_switch', 'busy', 'other_config:subnet=10.64.0.0/24']);
  // IPAM mode: the daemon as another plugin's IPAM (no veth, the NB does all the work).
  const config = { cniVersion: '1.1.0', name: 'busy', type: 'macvlan', ipam: { type: 'ovn-multinet', logicalSwitch: 'busy', socket: node.daemon.socket } };
  const pod = await createNetns(t);
  const call = { containerId: 'busy-add', netns: pod.path, ifName: 'net1' };
  const nbLines = (msg: string): Array<Record<string, unknown>> => node.daemon.logs.filter((l) => l['ovsdb'] === 'OVN_Northbound' && l['msg'] === msg);
  const disconnectsBefore = nbLines('ovsdb disconnected').length;

  await node.sandbox.db('hang', 'nb');
  let frozen = true;
  t.teardown(() => (frozen ? node.sandbox.db('wake', 'nb') : undefined));
  const started = Date.now();
  const add = node.cni({ command: 'ADD', ...call }, config);
  await sleep(3 * PROBE_MS);
  await node.sandbox.db('wake', 'nb');
  frozen = false;
  const result = await add;
  t.equal(result.exitCode, 0, `the ADD succeeds after ${Date.now() - started} ms: ${result.stdout}`);
  t.not(result.json?.['code'], 11, 'no code 11');
  t.match(result.json, { ips: [{ address: /^10\.64\.0\./ }] }, 'an address of the switch');
  t.equal(nbLines('ovsdb disconnected').length, disconnectsBefore, 'the NB session was kept');
  t.ok(nbLines('ovsdb peer busy: no answer to an echo yet; the session is kept').length > 0, 'a warning said the NB was busy');
  t.ok(nbLines('ovsdb peer answers again').length > 0, 'and a line when it answered again');
  t.equal((await node.cni({ command: 'DEL', ...call }, config)).exitCode, 0, 'DEL');
  t.same(await node.switchPorts('busy'), [], 'nothing left');
});
