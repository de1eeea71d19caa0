// Two daemons (two "nodes" as far as the NB can tell) allocate on one switch at the same time:
// no address is ever handed out twice, and every ADD succeeds.
import t from 'tap';
import { createNetns } from '../helpers/netns.ts';
import { e2eSkipReason, startDaemon, startNode } from '../helpers/node.ts';

const skip = e2eSkipReason();
const PER_DAEMON = 15;

t.test('concurrent ADDs from two daemons against one NB', { skip }, async (t) => {
  const node = await startNode(t, { daemon: { nodeName: 'node-a' } });
  const second = await startDaemon(t, node.sandbox, { nodeName: 'node-b' });
  await node.sandbox.nbctl(['ls-add', 'blue', '--', 'set', 'logical_switch', 'blue', 'other_config:subnet=10.5.0.0/24']);
  const calls = await Promise.all(
    Array.from({ length: 2 * PER_DAEMON }, async (_, i) => {
      const ns = await createNetns(t);
      const socket = i % 2 === 0 ? node.daemon.socket : second.socket;
      return { call: { containerId: `conc-${i}`, netns: ns.path, ifName: 'net1' }, config: { ...node.config('blue'), socket } };
    }),
  );
  const results = await Promise.all(calls.map(({ call, config }) => node.cni({ command: 'ADD', ...call }, config)));
  for (const r of results) t.equal(r.exitCode, 0, r.stdout);
  const ips = results.map((r) => String((r.json?.['ips'] as Array<{ address: string }> | undefined)?.[0]?.address));
  t.equal(new Set(ips).size, ips.length, `all ${ips.length} addresses distinct`);
  const nbAddresses = (await node.sandbox.nbctl(['--bare', '--columns=addresses', 'list', 'logical_switch_port'])).split('\n').filter((l) => l !== '');
  const nbIps = nbAddresses.map((a) => a.split(' ')[1]);
  t.equal(nbIps.length, 2 * PER_DAEMON, 'one port per ADD in the NB');
  t.equal(new Set(nbIps).size, nbIps.length, 'no duplicate address in the NB');
  const dels = await Promise.all(calls.map(({ call, config }) => node.cni({ command: 'DEL', ...call }, config)));
  for (const d of dels) t.equal(d.exitCode, 0, d.stdout);
  t.same(await node.switchPorts('blue'), []);
  t.same(await node.noHostVeths(), []);
});
