// The NB as a 3-member raft cluster: the daemon talks to the leader; killing the leader during a
// stream of ADDs loses none of them (the daemon waits for the new leader within the request's
// deadline) and no address is handed out twice.
import t from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startNode } from '../helpers/node.ts';
import { NB_SCHEMA, startOvsdbCluster } from '../helpers/ovsdb-server.ts';

const skip = e2eSkipReason();
const TOTAL = 30;
const CONCURRENCY = 3;

t.test('NB leader killed during a stream of ADDs', { skip }, async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const nbDb = cluster.members.map((m) => m.unixRemote).join(',');
  const node = await startNode(t, { nbDb, daemon: { nbDb } });
  await node.sandbox.nbctl(['ls-add', 'red', '--', 'set', 'logical_switch', 'red', 'other_config:subnet=10.1.0.0/24']);
  const config = node.config('red');

  const pods = await Promise.all(Array.from({ length: TOTAL }, () => createNetns(t)));
  const results: Array<{ exitCode: number; ip: string; stdout: string }> = [];
  let next = 0;
  let killed = -1;
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const i = next++;
      if (i === TOTAL / 3 && killed < 0) {
        killed = await cluster.leader();
        await cluster.members[killed]?.kill();
      }
      const pod = pods[i];
      if (pod === undefined) return;
      const out = await node.cni({ command: 'ADD', containerId: `raft-${i}`, netns: pod.path, ifName: 'net1' }, config);
      const ips = out.json?.['ips'] as Array<{ address: string }> | undefined;
      results.push({ exitCode: out.exitCode, ip: ips?.[0]?.address ?? '', stdout: out.stdout });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  t.ok(killed >= 0, `leader (member ${killed}) was killed mid-stream`);
  t.equal(results.length, TOTAL);
  for (const r of results) t.equal(r.exitCode, 0, r.stdout);
  const ips = results.map((r) => r.ip);
  t.equal(new Set(ips).size, TOTAL, 'every address distinct');
  t.equal((await node.switchPorts('red')).length, TOTAL, 'one port per ADD, none lost, none doubled');
  t.ok(node.daemon.logs.some((l) => l['msg'] === 'connected to the OVN Northbound database' && l['remote'] !== cluster.members[killed]?.unixRemote), 'the daemon moved to a new leader');

  const dels = await Promise.all(pods.map((pod, i) => node.cni({ command: 'DEL', containerId: `raft-${i}`, netns: pod.path, ifName: 'net1' }, config)));
  for (const d of dels) t.equal(d.exitCode, 0, d.stdout);
  t.same(await node.switchPorts('red'), []);
  t.same(await node.noHostVeths(), []);
});
