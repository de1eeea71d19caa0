// The client through OVSDB relays (test/helpers/ovsdb-relay.ts) in front of a real 3-member raft
// cluster of OVN_Northbound on 127.0.0.1, or of a standalone server: monitors, conditions and
// transactions through a relay, and what happens when a relay, the leader or a relay's source goes.

import { once } from 'node:events';
import t from 'tap';
import { pino } from 'pino';
import { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import type { OvsdbClientOptions } from '../../daemon/ovsdb/client.ts';
import { OvsdbTransactionError } from '../../daemon/errors.ts';
import { eq, insert, select, update } from '../../daemon/ovsdb/ops.ts';
import { NB_SCHEMA, startOvsdbCluster, startOvsdbServer } from '../helpers/ovsdb-server.ts';
import { startOvsdbRelays } from '../helpers/ovsdb-relay.ts';
import type { Teardown } from '../helpers/ovsdb-server.ts';

const deadline = (): AbortSignal => AbortSignal.timeout(15_000);
// A relay retries its source with a back-off of up to 8 s.
const sourceReturns = (): AbortSignal => AbortSignal.timeout(30_000);
const DB = 'OVN_Northbound';

/** leaderOnly as the daemon sets it: on when several remotes are given. */
async function connect(t: Teardown, remotes: readonly string[], options: Partial<OvsdbClientOptions> = {}): Promise<OvsdbClient> {
  const client = new OvsdbClient({ remotes, database: DB, monitor: { Logical_Switch: ['name', 'other_config'] }, leaderOnly: remotes.length > 1, echoIntervalMs: 1000, ...options });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  return client;
}

/** The `ovsdb monitor started` lines of a client's log. */
function monitorLog(): { logger: pino.Logger; started: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, started: () => lines.filter((l) => l['msg'] === 'ovsdb monitor started') };
}

function names(client: OvsdbClient): string[] {
  return [...client.cache.table('Logical_Switch').values()].map((row) => (typeof row['name'] === 'string' ? row['name'] : '?')).sort();
}

function otherConfig(client: OvsdbClient, name: string): unknown {
  return [...client.cache.table('Logical_Switch').values()].find((row) => row['name'] === name)?.['other_config'];
}

t.test('a relay serves what is written to the cluster', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const tier = await startOvsdbRelays(t, cluster.database, cluster.remotes, 2);
  t.equal(tier.relays.length, 2);
  t.equal(new Set(tier.remotes).size, 2, 'each relay on its own port');
  const writer = await connect(t, cluster.remotes);
  await writer.transact([insert('Logical_Switch', { name: 'ls0' })], deadline());
  const reader = await connect(t, [tier.remotes[1]!]);
  const row = await reader.waitForRow('Logical_Switch', (r) => r['name'] === 'ls0', deadline());
  t.equal(row['name'], 'ls0', 'the row written through the leader is read through a relay');
});

t.test('through two relays: conditional monitor, monitor_cond_change, transactions; the relay killed', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const tier = await startOvsdbRelays(t, cluster.database, cluster.remotes, 2);
  const writer = await connect(t, cluster.remotes);
  const wanted = ['a', 'b'];
  const { logger, started } = monitorLog();
  const client = await connect(t, tier.remotes, { conditions: () => new Map([['Logical_Switch', wanted.map((name) => eq('name', name))]]), logger });
  t.ok(tier.remotes.includes(client.remote ?? ''), 'connected to a relay (leaderOnly accepts a connected relay)');

  await client.transact([insert('Logical_Switch', { name: 'a' }), insert('Logical_Switch', { name: 'b' }), insert('Logical_Switch', { name: 'c' })], deadline());
  await client.waitForRow('Logical_Switch', (r) => r['name'] === 'b', deadline());
  t.same(names(client), ['a', 'b'], 'a transaction through the relay commits; the conditional monitor keeps the selected rows');
  wanted.push('c');
  await client.updateConditions(deadline());
  t.same(names(client), ['a', 'b', 'c'], 'monitor_cond_change through the relay brings the newly selected row');

  const [inserted] = await writer.transact([insert('Address_Set', { name: 'dup' })], deadline());
  t.ok(inserted?.uuid, 'written through the leader');
  const failed = await client.transact([insert('Address_Set', { name: 'dup' })], deadline()).catch((error: unknown) => error);
  t.ok(failed instanceof OvsdbTransactionError, 'a transaction that violates a constraint fails through the relay');
  t.match(failed, { error: 'constraint violation' }, 'with the leader’s error');

  const on = tier.remotes.indexOf(client.remote ?? '');
  const disconnected = once(client, 'disconnected');
  await tier.relays[on]!.kill();
  await disconnected;
  // Changed while the client is away.
  await writer.transact([update('Logical_Switch', [eq('name', 'b')], { other_config: new Map([['k', 'v']]) }), insert('Logical_Switch', { name: 'd' })], deadline());
  await client.waitConnected(deadline());
  t.equal(client.remote, tier.remotes[1 - on], 'moved to the other relay');
  await client.waitForRow('Logical_Switch', (r) => r['name'] === 'b' && JSON.stringify(r['other_config']) === JSON.stringify(otherConfig(writer, 'b')), deadline());
  t.same(names(client), ['a', 'b', 'c'], 'the cache holds the selected rows, not the one added meanwhile that is not selected');
  // The other relay does not find the client's last transaction when a monitored map column
  // changed meanwhile (ovsdb-server 3.1; a raft member does): it sends the selected rows whole.
  t.match(started().at(-1), { method: 'monitor_cond_since' });
  await client.transact([insert('Logical_Switch', { name: 'e' })], deadline());
  const [read] = await client.transact([select('Logical_Switch', [eq('name', 'e')], ['name'])], deadline());
  t.equal(read?.rows?.length, 1, 'transactions go through the other relay');
});

t.test('the raft leader killed: transactions through the relay succeed again, the cache catches up', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const tier = await startOvsdbRelays(t, cluster.database, cluster.remotes, 2);
  const { logger, started } = monitorLog();
  const client = await connect(t, tier.remotes, { logger });
  await client.transact([insert('Logical_Switch', { name: 'before' })], deadline());
  await client.waitForRow('Logical_Switch', (r) => r['name'] === 'before', deadline());

  const leader = await cluster.leader();
  await cluster.members[leader]!.kill();
  const survivors = [0, 1, 2].filter((i) => i !== leader);
  await cluster.leader(survivors);
  // The first transactions may meet the election (or a relay still moving to another member).
  let committed = false;
  for (let attempt = 0; !committed && attempt < 50; attempt++) {
    try {
      await client.waitConnected(deadline());
      await client.transact([insert('Logical_Switch', { name: 'after' })], AbortSignal.timeout(5000));
      committed = true;
    } catch (error) {
      t.comment(`attempt ${attempt}: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  t.ok(committed, 'a transaction through the relay commits after the re-election');
  const survivor = new OvsdbClient({ remotes: survivors.map((i) => cluster.remotes[i]!), database: DB, monitor: { Logical_Switch: ['name'] }, leaderOnly: true, echoIntervalMs: 1000 });
  t.teardown(() => survivor.close());
  survivor.start();
  await survivor.waitConnected(deadline());
  await survivor.transact([insert('Logical_Switch', { name: 'through-the-leader' })], deadline());
  await client.waitForRow('Logical_Switch', (r) => r['name'] === 'through-the-leader', deadline());
  t.same(names(client).filter((n) => n !== 'after'), ['before', 'through-the-leader'], 'the cache caught up with what the new leader committed');
  t.ok(names(client).includes('after'));
  t.equal(started().length, 1, 'the client kept its session on the relay: the leader is the relay’s business');
});

t.test('moving to the other relay resumes from the last transaction the client saw (monitor_cond_since found)', async (t) => {
  const cluster = await startOvsdbCluster(t, NB_SCHEMA);
  const tier = await startOvsdbRelays(t, cluster.database, cluster.remotes, 2);
  const writer = await connect(t, cluster.remotes);
  const { logger, started } = monitorLog();
  const client = await connect(t, tier.remotes, { logger });
  await client.transact([insert('Logical_Switch', { name: 'before' })], deadline());
  await client.waitForRow('Logical_Switch', (r) => r['name'] === 'before', deadline());
  const disconnected = once(client, 'disconnected');
  await tier.relays[tier.remotes.indexOf(client.remote ?? '')]!.kill();
  await disconnected;
  await writer.transact([insert('Logical_Switch', { name: 'while-away' })], deadline());
  await client.waitConnected(deadline());
  await client.waitForRow('Logical_Switch', (r) => r['name'] === 'while-away', deadline());
  t.match(started(), [{ resumed: false }, { method: 'monitor_cond_since', resumed: true }], 'the other relay sent only what changed');
  t.same(names(client), ['before', 'while-away']);
});

t.test('a relay cut off from its source is left; a transaction it held commits when the source is back', async (t) => {
  const source = await startOvsdbServer(t, NB_SCHEMA, { tcp: true });
  const tier = await startOvsdbRelays(t, DB, [source.server.tcpRemote], 2);
  const client = await connect(t, tier.remotes);
  // One remote, as a daemon given one relay Service gets: leaderOnly off, no _Server monitor.
  const single = await connect(t, [tier.remotes[0]!]);

  // ovsdb-server 3.1 sets the relay's _Server row to connected=false ~30 s after its source went.
  const disconnected = once(client, 'disconnected', { signal: AbortSignal.timeout(60_000) });
  await source.server.kill();
  const held = await single.transact([insert('Logical_Switch', { name: 'held' })], AbortSignal.timeout(1000)).catch((error: unknown) => error);
  t.match(held, { name: 'TimeoutError' }, 'a relay without its source holds a transaction: no reply');
  const [reason] = (await disconnected) as [Error | undefined];
  t.match(reason, { name: 'OvsdbNotLeaderError', message: /relay .* not connected to its source/ }, 'left once its _Server row says it lost its source');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.notOk(client.connected, 'no relay is accepted while neither has its source');

  await source.server.start();
  await client.waitConnected(sourceReturns());
  await client.transact([insert('Logical_Switch', { name: 'after' })], deadline());
  await client.waitForRow('Logical_Switch', (r) => r['name'] === 'held', deadline());
  t.same(names(client), ['after', 'held'], 'the transaction the client gave up on committed once the relay had its source again');
});
