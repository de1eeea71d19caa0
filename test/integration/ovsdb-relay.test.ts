// OVSDB relays (test/helpers/ovsdb-relay.ts) in front of a real 3-member raft cluster of
// OVN_Northbound on 127.0.0.1.

import t from 'tap';
import { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import { insert } from '../../daemon/ovsdb/ops.ts';
import { NB_SCHEMA, startOvsdbCluster } from '../helpers/ovsdb-server.ts';
import { startOvsdbRelays } from '../helpers/ovsdb-relay.ts';
import type { Teardown } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(15_000);

async function connect(t: Teardown, remotes: readonly string[], database: string): Promise<OvsdbClient> {
  const client = new OvsdbClient({ remotes, database, monitor: { Logical_Switch: ['name'] }, leaderOnly: remotes.length > 1, echoIntervalMs: 1000 });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  return client;
}

t.test('a relay serves what is written to the cluster', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const tier = await startOvsdbRelays(t, cluster.database, cluster.remotes, 2);
  t.equal(tier.relays.length, 2);
  t.equal(new Set(tier.remotes).size, 2, 'each relay on its own port');
  const writer = await connect(t, cluster.remotes, cluster.database);
  await writer.transact([insert('Logical_Switch', { name: 'ls0' })], deadline());
  const reader = await connect(t, [tier.remotes[1]!], cluster.database);
  const row = await reader.waitForRow('Logical_Switch', (r) => r['name'] === 'ls0', deadline());
  t.equal(row['name'], 'ls0', 'the row written through the leader is read through a relay');
});
