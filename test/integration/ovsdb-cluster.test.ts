// leaderOnly against a real 3-member raft cluster of OVN_Northbound on 127.0.0.1.

import { once } from 'node:events';
import t from 'tap';
import { pino } from 'pino';
import { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import { eq, insert, select, update } from '../../daemon/ovsdb/ops.ts';
import { NB_SCHEMA, startOvsdbCluster } from '../helpers/ovsdb-server.ts';
import { echoIntervalFor } from '../../daemon/lib/flags.ts';
import type { Cluster, Teardown } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(15_000);

async function connect(t: Teardown, cluster: Cluster, echoIntervalMs: number): Promise<OvsdbClient> {
  const client = new OvsdbClient({
    remotes: cluster.remotes,
    database: cluster.database,
    monitor: { Logical_Switch: ['name'] },
    leaderOnly: true,
    echoIntervalMs,
  });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  return client;
}

async function addSwitch(client: OvsdbClient, name: string): Promise<void> {
  await client.transact([insert('Logical_Switch', { name })], deadline());
  await client.waitForRow('Logical_Switch', (row) => row['name'] === name, deadline());
}

t.test('follows the leader when it dies', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const client = await connect(t, cluster, 1000);
  const leader = await cluster.leader();
  t.equal(client.remote, cluster.remotes[leader], 'connected to the leader');
  await addSwitch(client, 'ls0');

  const disconnected = once(client, 'disconnected');
  await cluster.members[leader]!.kill();
  await disconnected;
  await client.waitConnected(deadline());
  const survivors = [0, 1, 2].filter((i) => i !== leader);
  const next = await cluster.leader(survivors);
  t.equal(client.remote, cluster.remotes[next], 'reconnected to the new leader');
  await addSwitch(client, 'ls1');
  const [result] = await client.transact([select('Logical_Switch', [eq('name', 'ls0')], ['name'])], deadline());
  t.equal(result?.rows?.length, 1, 'data written before the failover is there');
});

t.test('leaves a leader that steps down', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  // Probes too slow to notice the frozen leader: only its _Server row tells the client.
  const client = await connect(t, cluster, 60_000);
  const leader = await cluster.leader();
  t.equal(client.remote, cluster.remotes[leader]);

  const disconnected = once(client, 'disconnected');
  const frozen = cluster.members[leader]!;
  frozen.signal('SIGSTOP');
  t.teardown(() => frozen.signal('SIGCONT'));
  const next = await cluster.leader([0, 1, 2].filter((i) => i !== leader));
  frozen.signal('SIGCONT');
  const [reason] = (await disconnected) as [Error | undefined];
  t.match(reason, { name: 'OvsdbNotLeaderError' });
  await client.waitConnected(deadline());
  t.equal(client.remote, cluster.remotes[next], 'reconnected to the new leader');
  await addSwitch(client, 'ls0');
});

t.test('after a failover the monitor resumes from the last transaction it saw (monitor_cond_since)', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const client = new OvsdbClient({ remotes: cluster.remotes, database: cluster.database, monitor: { Logical_Switch: ['name'] }, leaderOnly: true, echoIntervalMs: 1000, logger });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  await addSwitch(client, 'before');
  const started = () => lines.filter((l) => l['msg'] === 'ovsdb monitor started');
  t.match(started(), [{ method: 'monitor_cond_since', resumed: false }], 'the first session starts from nothing');

  const leader = await cluster.leader();
  const disconnected = once(client, 'disconnected');
  await cluster.members[leader]!.kill();
  await disconnected;
  // Written while the client is away, through another client.
  const writer = await connect(t, cluster, 1000);
  await addSwitch(writer, 'while-away');
  await client.waitConnected(deadline());
  await client.waitForRow('Logical_Switch', (row) => row['name'] === 'while-away', deadline());
  t.match(started().at(-1), { method: 'monitor_cond_since', resumed: true }, 'the new session brings only what changed');
  t.same([...client.cache.table('Logical_Switch').values()].map((r) => r['name']).sort(), ['before', 'while-away'], 'and the cache is whole');
});

t.test('a leader that hangs (SIGSTOP, its connections open) is left once its silence reaches the cap; another member serves', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  // --db-inactivity-probe 1.5 s: echoes every 0.5 s, the cap at 6 s.
  const probeMs = 1500;
  const client = await connect(t, cluster, echoIntervalFor(probeMs));
  const leader = await cluster.leader();
  await addSwitch(client, 'before');
  const disconnected = once(client, 'disconnected');
  const hung = cluster.members[leader]!;
  const hungAt = Date.now();
  hung.signal('SIGSTOP');
  t.teardown(() => hung.signal('SIGCONT'));
  const [reason] = (await disconnected) as [Error | undefined];
  const detectedMs = Date.now() - hungAt;
  t.match(reason, { name: 'OvsdbInactivityError' }, 'dropped by the probe');
  // A busy server is given the cap (4 x the probe); the old probe left it within 1 x.
  t.ok(detectedMs >= 2 * probeMs, `not before the busy budget ran out (${detectedMs} ms)`);
  await client.waitConnected(AbortSignal.timeout(30_000));
  t.not(client.remote, cluster.remotes[leader], 'connected to another member, the new leader');
  await addSwitch(client, 'after');
  hung.signal('SIGCONT');
});

t.test('a follower restarted under a client: the client resumes (monitor_cond_since found) and holds what changed while it was away', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const leader = await cluster.leader();
  const follower = [0, 1, 2].find((i) => i !== leader)!;
  // Not leaderOnly: a client that reads through a follower, as through a relay.
  const client = new OvsdbClient({ remotes: [cluster.remotes[follower]!], database: cluster.database, monitor: { Logical_Switch: ['name'] }, echoIntervalMs: 1000, logger });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  const writer = await connect(t, cluster, 1000);
  await addSwitch(writer, 'before');
  await addSwitch(writer, 'renamed-while-away');
  await client.waitForRow('Logical_Switch', (row) => row['name'] === 'renamed-while-away', deadline());
  const started = () => lines.filter((l) => l['msg'] === 'ovsdb monitor started');
  t.match(started(), [{ method: 'monitor_cond_since', resumed: false }], 'the first session starts from nothing');

  const disconnected = once(client, 'disconnected');
  await cluster.members[follower]!.kill();
  await disconnected;
  // While the client is away: a switch added, one renamed.
  await addSwitch(writer, 'while-away');
  await writer.transact([update('Logical_Switch', [eq('name', 'renamed-while-away')], { name: 'renamed' })], deadline());
  await cluster.members[follower]!.start();
  await client.waitConnected(deadline());
  await client.waitForRow('Logical_Switch', (row) => row['name'] === 'renamed', deadline());
  t.match(started().at(-1), { method: 'monitor_cond_since', resumed: true }, 'the new session brings only what changed');
  t.same([...client.cache.table('Logical_Switch').values()].map((r) => r['name']).sort(), ['before', 'renamed', 'while-away'], 'and the cache is right');

  // The connection closed by the server (the server stays up): resumed as well.
  const dropped = once(client, 'disconnected');
  await cluster.members[follower]!.appctl('ovsdb-server/reconnect');
  await dropped;
  await client.waitConnected(deadline());
  t.match(started().at(-1), { method: 'monitor_cond_since', resumed: true }, 'a session the server closed is resumed too');
  await addSwitch(writer, 'after');
  await client.waitForRow('Logical_Switch', (row) => row['name'] === 'after', deadline());
  t.equal(client.cache.table('Logical_Switch').size, 4, 'and the cache follows on');
});
