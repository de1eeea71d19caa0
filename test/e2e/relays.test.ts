// The NB behind two OVSDB relays (ovsdb-server relay:OVN_Northbound, in front of a 3-member raft
// cluster): the daemon's --nb-db lists the relays; ADDs and DELs go through them, and go on
// through the other relay once the one the daemon is on is killed.
import t from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';
import { NB_SCHEMA, startOvsdbCluster } from '../helpers/ovsdb-server.ts';
import { startOvsdbRelays } from '../helpers/ovsdb-relay.ts';

const skip = e2eSkipReason();
const CONNECTED = 'connected to the OVN Northbound database';

t.test('ADDs and DELs through relays; the relay the daemon is on killed', { skip }, async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const tier = await startOvsdbRelays(t, cluster.database, cluster.remotes, 2);
  // The daemon runs in the sandbox's network namespace: unix sockets reach the relays from there.
  const relays = tier.relays.map((relay) => relay.unixRemote);
  const node = await startNode(t, { nbDb: cluster.members.map((m) => m.unixRemote).join(','), daemon: { nbDb: relays.join(',') } });
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  const config = node.config('red');
  const pods = await Promise.all([0, 1].map(() => createNetns(t)));
  const add = (i: number) => node.cni({ command: 'ADD', containerId: `relay-${i}`, netns: pods[i]!.path, ifName: 'net1' }, config);

  const first = await add(0);
  t.equal(first.exitCode, 0, first.stdout);
  const on = node.daemon.logs.findLast((l) => l['msg'] === CONNECTED)?.['remote'];
  t.ok(typeof on === 'string' && relays.includes(on), `the daemon is on a relay (${String(on)})`);

  await tier.relays[relays.indexOf(String(on))]!.kill();
  const second = await add(1);
  t.equal(second.exitCode, 0, second.stdout);
  t.equal(node.daemon.logs.findLast((l) => l['msg'] === CONNECTED)?.['remote'], relays.find((r) => r !== on), 'the daemon moved to the other relay');
  t.equal((await node.switchPorts('red')).length, 2, 'one port per ADD');

  const dels = await Promise.all([0, 1].map((i) => node.cni({ command: 'DEL', containerId: `relay-${i}`, netns: pods[i]!.path, ifName: 'net1' }, config)));
  for (const d of dels) t.equal(d.exitCode, 0, d.stdout);
  t.same(await node.switchPorts('red'), []);
  t.same(await node.noHostVeths(), []);
});
