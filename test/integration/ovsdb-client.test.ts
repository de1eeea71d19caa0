// The client against a real ovsdb-server with the Open_vSwitch schema.

import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { pino, type Logger } from 'pino';
import t from 'tap';
import { backoffMs, MAX_BACKOFF_MS } from '../../daemon/ovsdb/backoff.ts';
import { SILENCE_CAP_INTERVALS } from '../../daemon/ovsdb/jsonrpc.ts';
import { echoIntervalFor } from '../../daemon/lib/flags.ts';
import type { RowChange } from '../../daemon/ovsdb/cache.ts';
import { OvsdbClient } from '../../daemon/ovsdb/client.ts';
import type { OvsdbClientOptions } from '../../daemon/ovsdb/client.ts';
import { OvsdbInactivityError, OvsdbNotConnectedError } from '../../daemon/errors.ts';
import { namedUuid } from '../../daemon/ovsdb/notation.ts';
import type { Uuid } from '../../daemon/ovsdb/notation.ts';
import { del, eq, insert, mutate, mutation, select, update, wait } from '../../daemon/ovsdb/ops.ts';
import type { Operation } from '../../daemon/ovsdb/ops.ts';
import { startOvsdbServer, VSWITCH_SCHEMA, waitUntil } from '../helpers/ovsdb-server.ts';
import type { Teardown } from '../helpers/ovsdb-server.ts';

const monitor = {
  Open_vSwitch: ['bridges'],
  Bridge: ['name', 'ports', 'external_ids'],
  Port: ['name', 'interfaces', 'tag', 'external_ids'],
  Interface: ['name', 'type'],
};

const deadline = (): AbortSignal => AbortSignal.timeout(5000);

async function connect(t: Teardown, remote: string, options: Partial<OvsdbClientOptions> = {}): Promise<OvsdbClient> {
  const client = new OvsdbClient({ remotes: [remote], database: 'Open_vSwitch', monitor, ...options });
  t.teardown(() => client.close());
  client.start();
  await client.waitConnected(deadline());
  return client;
}

/** One transaction: the root row, then one bridge per name with a port and an interface of the same name. */
function bridgesOps(names: readonly string[]): Operation[] {
  const ops: Operation[] = [insert('Open_vSwitch', {}, 'ovs')];
  names.forEach((name, i) => {
    ops.push(
      insert('Interface', { name, type: 'internal' }, `i${i}`),
      insert('Port', { name, interfaces: [namedUuid(`i${i}`)] }, `p${i}`),
      insert('Bridge', { name, ports: [namedUuid(`p${i}`)] }, `b${i}`),
    );
  });
  ops.push(mutate('Open_vSwitch', [], [mutation('bridges', 'insert', names.map((_, i) => namedUuid(`b${i}`)))]));
  return ops;
}

function vsctl(remote: string, ...args: string[]): Promise<unknown> {
  return execa('ovs-vsctl', [`--db=${remote}`, '--no-wait', '--timeout=5', ...args]);
}

function bridgeNames(client: OvsdbClient): string[] {
  return [...client.cache.table('Bridge').values()]
    .map((row) => {
      const name = row['name'];
      if (typeof name !== 'string') throw new Error(`Bridge row without a string name: ${JSON.stringify(name)}`);
      return name;
    })
    .sort();
}

t.test('transact insert, select, mutate, update, delete; the monitor fills the cache', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const client = await connect(t, server.unixRemote);
  const results = await client.transact(bridgesOps(['br-int']), deadline());
  t.equal(results.length, 5);
  const bridge = results[3]?.uuid;
  t.ok(bridge, 'insert returns the new uuid');

  const [selected] = await client.transact([select('Bridge', [eq('name', 'br-int')], ['_uuid', 'name', 'ports'])], deadline());
  t.same(selected?.rows?.map((row) => [row['_uuid'], row['name']]), [[bridge, 'br-int']]);
  const port = selected?.rows?.[0]?.['ports'];
  t.ok(Array.isArray(port) && port.length === 1, 'a set column decodes to an array');

  const inCache = await client.waitForRow('Bridge', (row) => row['name'] === 'br-int', deadline());
  t.equal(inCache['_uuid'], bridge);

  const [mutated, updated] = await client.transact(
    [
      mutate('Bridge', [eq('_uuid', bridge)], [mutation('external_ids', 'insert', new Map([['owner', 'test']]))]),
      update('Port', [eq('name', 'br-int')], { tag: 100 }),
    ],
    deadline(),
  );
  t.same([mutated?.count, updated?.count], [1, 1]);
  const tagged = await client.waitForRow('Port', (row) => row['tag'] === 100, deadline());
  t.equal(tagged['name'], 'br-int');
  t.same(client.cache.row('Bridge', bridge!)?.['external_ids'], new Map([['owner', 'test']]));

  const gone = once(client.cache, 'change');
  const [deleted] = await client.transact(
    [del('Bridge', [eq('name', 'br-int')]), mutate('Open_vSwitch', [], [mutation('bridges', 'delete', [bridge!])])],
    deadline(),
  );
  t.equal(deleted?.count, 1);
  const [change] = (await gone) as [RowChange];
  t.match(change, { table: 'Bridge', uuid: bridge, new: undefined });
});

t.test('the cache sees changes made by another client', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const client = await connect(t, server.unixRemote);
  await vsctl(server.unixRemote, 'init');
  await vsctl(server.unixRemote, 'add-br', 'br0', '--', 'add-port', 'br0', 'p1', '--', 'set', 'Port', 'p1', 'tag=7', 'external_ids:pod=a');
  const port = await client.waitForRow('Port', (row) => row['name'] === 'p1', deadline());
  t.equal(port['tag'], 7);
  t.same(port['external_ids'], new Map([['pod', 'a']]));
  const bridge = await client.waitForRow('Bridge', (row) => row['name'] === 'br0', deadline());
  t.ok(Array.isArray(bridge['ports']) && bridge['ports'].includes(port['_uuid']), 'uuids compare as strings');

  await vsctl(server.unixRemote, 'remove', 'Port', 'p1', 'tag', '7', '--', 'set', 'Port', 'p1', 'external_ids:pod=b');
  const changed = await client.waitForRow('Port', (row) => row['name'] === 'p1' && row['tag'] === undefined, deadline());
  t.same(changed['external_ids'], new Map([['pod', 'b']]));
  await vsctl(server.unixRemote, 'del-port', 'br0', 'p1');
  await client.waitForRow('Bridge', (row) => Array.isArray(row['ports']) && row['ports'].length === 1, deadline());
  t.equal(client.cache.row('Port', port['_uuid'] as Uuid), undefined, 'the deleted port left the cache');
});

t.test('operation errors', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA, { tcp: true });
  const client = await connect(t, server.tcpRemote);
  await client.transact(bridgesOps(['br0']), deadline());

  const failedWait = client.transact(
    [select('Bridge', []), wait('Bridge', [eq('name', 'br0')], ['name'], '==', [{ name: 'other' }], 0)],
    deadline(),
  );
  await t.rejects(failedWait, { name: 'OvsdbTransactionError', kind: 'timed-out', opIndex: 1, error: 'timed out' });

  const duplicate = client.transact([insert('Bridge', { name: 'br0' }, 'b'), mutate('Open_vSwitch', [], [mutation('bridges', 'insert', [namedUuid('b')])])], deadline());
  await t.rejects(duplicate, { name: 'OvsdbTransactionError', kind: 'constraint-violation' });

  // Deleting an interface that a port still refers to: the commit fails, after every operation succeeded.
  const commit = client.transact([del('Interface', [eq('name', 'br0')])], deadline());
  await t.rejects(commit, { name: 'OvsdbTransactionError', kind: 'referential-integrity', opIndex: undefined });
  t.equal(bridgeNames(client).length, 1, 'nothing changed');
});

t.test('a pending transact fails when the connection drops; abort rejects with the reason', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const client = await connect(t, server.unixRemote);
  await client.transact(bridgesOps(['br0']), deadline());
  // A wait without timeout holds the reply until the condition holds: never, here.
  const blocking = (): Operation => wait('Bridge', [eq('name', 'br0')], ['name'], '==', [{ name: 'never' }]);

  const controller = new AbortController();
  const aborted = client.transact([blocking()], controller.signal);
  const reason = new Error('deadline passed');
  setTimeout(() => controller.abort(reason), 50);
  await t.rejects(aborted, reason);
  t.equal((await client.transact([select('Bridge', [])], deadline()))[0]?.rows?.length, 1, 'the session still works');

  const pending = client.transact([blocking()], deadline());
  const disconnected = once(client, 'disconnected');
  setTimeout(() => void server.kill(), 50);
  await t.rejects(pending, OvsdbNotConnectedError);
  await disconnected;
  t.notOk(client.connected);
  await t.rejects(client.transact([select('Bridge', [])], deadline()), OvsdbNotConnectedError);
});

t.test('reconnects after a restart and resyncs the cache', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const client = await connect(t, server.unixRemote);
  await client.transact(bridgesOps(['br-a', 'br-b']), deadline());
  await client.waitForRow('Bridge', (row) => row['name'] === 'br-b', deadline());
  const removed = [...client.cache.table('Bridge').values()].find((row) => row['name'] === 'br-b')?.['_uuid'];

  const disconnected = once(client, 'disconnected');
  await server.kill();
  await disconnected;
  // While the server is down: drop br-b and add br-c, straight in the database file.
  const offline = [
    'Open_vSwitch',
    { op: 'delete', table: 'Bridge', where: [['name', '==', 'br-b']] },
    { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'delete', ['uuid', removed]]] },
    { op: 'insert', table: 'Bridge', row: { name: 'br-c' }, 'uuid-name': 'c' },
    { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['bridges', 'insert', ['named-uuid', 'c']]] },
  ];
  await execa('ovsdb-tool', ['transact', server.dbFile, JSON.stringify(offline)]);
  const changes: RowChange[] = [];
  client.cache.on('change', (change) => changes.push(change));
  await server.start();

  await client.waitConnected(deadline());
  t.same(bridgeNames(client), ['br-a', 'br-c']);
  t.same(
    changes.filter((c) => c.table === 'Bridge').map((c) => [c.old?.['name'], c.new?.['name']]),
    [
      ['br-b', undefined],
      [undefined, 'br-c'],
    ],
    'a delete for the row gone, an add for the new one, nothing for the unchanged',
  );
  await client.transact([select('Bridge', [])], deadline());
});

/** A logger whose lines the test reads. */
function logLines(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

t.test('a frozen server (SIGSTOP) for three times the probe keeps its session; a transact sent meanwhile completes after the thaw', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const { logger, lines } = logLines();
  // The daemon's shape: --db-inactivity-probe 600 ms, echoes every 200 ms (the old probe dropped it within 600 ms).
  const intervalMs = echoIntervalFor(600);
  const client = await connect(t, server.unixRemote, { echoIntervalMs: intervalMs, logger });
  let disconnects = 0;
  client.on('disconnected', () => disconnects++);
  server.signal('SIGSTOP');
  t.teardown(() => server.signal('SIGCONT'));
  const sent = client.transact(bridgesOps(['br-frozen']), AbortSignal.timeout(30_000));
  await sleep(3 * 600);
  server.signal('SIGCONT');
  await sent;
  t.same(bridgeNames(client), ['br-frozen'], 'the transaction committed and its update reached the cache');
  t.equal(disconnects, 0, 'no disconnect');
  t.ok(client.connected, 'the same session');
  t.ok(lines.some((l) => l['level'] === 40 && /busy/.test(String(l['msg']))), 'a warning said it was busy');
  t.ok(lines.some((l) => l['level'] === 30 && /answers again/.test(String(l['msg'])) && (l['silentMs'] as number) >= 2 * intervalMs), 'and it was told when it answered again');
});

t.test('a server frozen beyond the cap is dropped (OvsdbInactivityError); the client is back once it thaws', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const intervalMs = 100;
  const client = await connect(t, server.unixRemote, { echoIntervalMs: intervalMs });
  const disconnected = once(client, 'disconnected');
  const frozenAt = performance.now();
  server.signal('SIGSTOP');
  t.teardown(() => server.signal('SIGCONT'));
  const [reason] = (await disconnected) as [Error | undefined];
  const afterMs = performance.now() - frozenAt;
  t.type(reason, OvsdbInactivityError);
  // Last heard at most one interval before the freeze (an echo is answered at once).
  t.ok(afterMs >= (SILENCE_CAP_INTERVALS - 1) * intervalMs, `not dropped before the cap (${Math.round(afterMs)} ms)`);
  server.signal('SIGCONT');
  await client.waitConnected(deadline());
});

t.test('a session set up with a frozen server is waited for while its connection lasts (waitSettingUp)', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const client = new OvsdbClient({ remotes: [server.unixRemote], database: 'Open_vSwitch', monitor, echoIntervalMs: 200 });
  t.teardown(() => client.close());
  t.equal(await client.waitSettingUp(deadline()), false, 'no session being set up before start()');
  server.signal('SIGSTOP');
  t.teardown(() => server.signal('SIGCONT'));
  client.start();
  // The kernel accepts the connection for the frozen process; its get_schema stays unanswered.
  await sleep(300);
  const waited = client.waitSettingUp(AbortSignal.timeout(30_000));
  await sleep(600);
  server.signal('SIGCONT');
  t.equal(await waited, true, 'true once the session is up');
  t.ok(client.connected);
  await client.close();
  t.equal(await client.waitSettingUp(deadline()), false, 'false when nothing is being set up');
});

t.test('a killed server: connect attempts over a window are bounded by the backoff', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const { logger, lines } = logLines();
  const client = await connect(t, server.unixRemote, { logger });
  const disconnected = once(client, 'disconnected');
  await server.kill();
  await disconnected;
  const windowMs = 3000;
  await sleep(windowMs);
  const attempts = lines.filter((l) => l['msg'] === 'ovsdb connect failed').length;
  // Equal jitter: each wait is at least half its ceiling (25, 50, 100, ... ms, at most 1 s): at
  // most this many attempts fit in the window (the drop itself already counts as a failure).
  let bound = 0;
  for (let elapsed = 0, round = 1; elapsed <= windowMs; round++, bound++) elapsed += backoffMs(round, () => 0);
  t.ok(attempts >= 3, `it kept trying (${attempts} attempts in ${windowMs} ms)`);
  t.ok(attempts <= bound, `${attempts} attempts in ${windowMs} ms, at most ${bound} by the backoff`);
  await server.start();
  await client.waitConnected(AbortSignal.timeout(MAX_BACKOFF_MS + 5000));
});

t.test('a server that drops each session at once: reconnects back off as after failed connects', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const { logger, lines } = logLines();
  const client = await connect(t, server.unixRemote, { logger });
  const windowMs = 3000;
  const started = performance.now();
  // The server closes every client connection (its sessions are gone, it is not) as fast as it can be told to.
  while (performance.now() - started < windowMs) {
    if (client.connected) await server.appctl('ovsdb-server/reconnect');
    else await sleep(5);
  }
  const sessions = lines.filter((l) => l['msg'] === 'ovsdb connected').length;
  // Sessions that end at once count as failures: the waits grow 25, 50, 100, ... ms (equal jitter, at least half of each).
  let bound = 1;
  for (let elapsed = 0, round = 1; elapsed <= windowMs; round++, bound++) elapsed += backoffMs(round, () => 0);
  t.ok(sessions >= 2, `it came back each time (${sessions} sessions in ${windowMs} ms)`);
  t.ok(sessions <= bound, `${sessions} sessions in ${windowMs} ms, at most ${bound} by the backoff (the old client came back after 25-50 ms each time)`);
  await client.waitConnected(AbortSignal.timeout(MAX_BACKOFF_MS + 5000));
});

t.test('ssl: mutual TLS with certificates from a CA', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA, { ssl: true });
  const client = await connect(t, server.sslRemote, { tls: server.ssl!.client });
  await client.transact(bridgesOps(['br-tls']), deadline());
  t.same(bridgeNames(client), ['br-tls']);
});

t.test('conditions: only selected rows reach the cache; updateConditions moves the selection', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const writer = await connect(t, server.unixRemote);
  await writer.transact(bridgesOps(['br-a', 'br-b', 'br-c']), deadline());
  let wanted = ['br-a'];
  const client = await connect(t, server.unixRemote, { conditions: () => new Map([['Bridge', wanted.map((name) => eq('name', name))]]) });
  t.same(bridgeNames(client), ['br-a'], 'the initial contents hold the selected rows only');
  t.equal(client.cache.table('Port').size, 3, 'tables without a condition are monitored whole');

  wanted = ['br-a', 'br-c'];
  await client.updateConditions(deadline());
  t.same(bridgeNames(client), ['br-a', 'br-c'], 'rows that newly match are in the cache when updateConditions resolves');

  const seen: string[] = [];
  client.cache.on('change', (c: RowChange) => {
    const name = (c.new ?? c.old)?.['name'];
    if (c.table === 'Bridge') seen.push(typeof name === 'string' ? name : '');
  });
  await vsctl(server.unixRemote, 'add-br', 'br-d');
  await vsctl(server.unixRemote, 'set', 'bridge', 'br-b', 'external_ids:x=1');
  await vsctl(server.unixRemote, 'set', 'bridge', 'br-a', 'external_ids:x=1');
  await waitUntil(() => seen.includes('br-a'), 5000, 'the change of br-a');
  t.same(seen, ['br-a'], 'changes of rows outside the condition never arrive');

  wanted = [];
  await client.updateConditions(deadline());
  t.same(bridgeNames(client), [], 'no clause selects no row; rows that stop matching leave the cache');
  await client.updateConditions(deadline());
  t.pass('an unchanged selection sends nothing');

  wanted = ['br-d'];
  const disconnected = once(client, 'disconnected');
  await server.kill();
  await disconnected;
  await server.start();
  await client.waitConnected(deadline());
  t.same(bridgeNames(client), ['br-d'], 'a new session starts with the current conditions');
});

t.test('watches: rows read by uuid and followed by a monitor of their own, replaced without losing a change', async (t) => {
  const { server } = await startOvsdbServer(t, VSWITCH_SCHEMA);
  const writer = await connect(t, server.unixRemote);
  await writer.transact(bridgesOps(['w1', 'w2', 'w3', 'w4']), deadline());
  const portUuid = (name: string): Uuid => {
    const row = [...writer.cache.table('Port').values()].find((r) => r['name'] === name);
    if (row === undefined) throw new Error(`no port ${name}`);
    return row["_uuid"] as Uuid;
  };
  const [p1, p2, p3] = [portUuid('w1'), portUuid('w2'), portUuid('w3')];
  const client = await connect(t, server.unixRemote, { watched: ['Port'] });
  const nameOf = (row: Readonly<Record<string, unknown>> | undefined): string => (typeof row?.['name'] === 'string' ? row['name'] : '');
  const portNames = (): string[] => [...client.cache.table('Port').values()].map(nameOf).sort();
  const idsOf = (uuid: Uuid): ReadonlyMap<unknown, unknown> => {
    const ids = client.cache.row('Port', uuid)?.['external_ids'];
    return ids instanceof Map ? ids : new Map();
  };
  const counter = (uuid: Uuid): unknown => idsOf(uuid).get('n');
  t.same(portNames(), [], 'a watched table is not in the monitor: no row without a watch');
  t.equal(client.cache.table('Bridge').size, 4, 'the other tables are');

  await client.watch('w', { table: 'Port', where: [eq('_uuid', p1), eq('_uuid', p2)], uuids: () => [p1, p2] }, deadline());
  t.same(portNames(), ['w1', 'w2'], 'its rows are in the cache once watch() resolves');
  t.ok(client.watchLoaded('w'));

  const seen: string[] = [];
  client.cache.on('change', (c: RowChange) => {
    if (c.table === 'Port') seen.push(nameOf(c.new ?? c.old));
  });
  await vsctl(server.unixRemote, 'set', 'port', 'w3', 'external_ids:n=0');
  await vsctl(server.unixRemote, 'set', 'port', 'w1', 'external_ids:n=0');
  await waitUntil(() => counter(p1) === '0', 5000, 'the change of w1');
  t.same(seen, ['w1'], 'changes of rows it does not follow never arrive');

  // Writes to w1 go on while the watch is replaced (new monitor, old one cancelled, w3 read),
  // each adding a key: an update lost or applied twice (a diff toggles a key) would show.
  let n = 0;
  let writing = true;
  const writes = (async () => {
    while (writing) await writer.transact([mutate('Port', [eq('_uuid', p1)], [mutation('external_ids', 'insert', new Map([[`k${++n}`, '1']]))])], deadline());
  })();
  await new Promise((r) => setTimeout(r, 50));
  await client.watch('w', { table: 'Port', where: [eq('_uuid', p1), eq('_uuid', p2), eq('_uuid', p3)], uuids: () => [p1, p2, p3] }, deadline());
  await new Promise((r) => setTimeout(r, 50));
  writing = false;
  await writes;
  t.same(portNames(), ['w1', 'w2', 'w3'], 'the replacement brings the rows new to it');
  const keys = (): string[] => [...idsOf(p1).keys()].filter((k): k is string => typeof k === 'string' && k.startsWith('k')).sort();
  const written = Array.from({ length: n }, (_, i) => `k${i + 1}`).sort();
  await waitUntil(() => keys().length === n, 5000, `w1's last write (${n})`);
  t.same(keys(), written, 'every write to w1 is in the cache once');
  t.equal(counter(p3), '0', 'read whole');
  t.ok(n > 2, `writes went on during the replacement (${n})`);

  // Its rows as they stand when it is made: here w1, and w2 once the client comes back.
  const rows: Uuid[] = [p1];
  await client.watch('w', { table: 'Port', where: [eq('_uuid', p1), eq('_uuid', p2)], uuids: () => rows }, deadline());
  t.same(portNames(), ['w1'], 'rows no longer among its uuids leave the cache');

  // A new session reads the rows again: a change made while the client was away is in, and so
  // is a row that joined the watch's rows meanwhile.
  const disconnected = once(client, 'disconnected');
  await server.kill();
  await disconnected;
  rows.push(p2);
  await server.start();
  await vsctl(server.unixRemote, 'set', 'port', 'w1', 'external_ids:n=away');
  await client.waitConnected(deadline());
  await waitUntil(() => counter(p1) === 'away', 5000, 'the change made while away');
  t.same(portNames(), ['w1', 'w2'], 'the rows as they stand at the new session are read');

  await client.unwatch('w', deadline());
  t.same(portNames(), [], 'unwatch: the rows leave the cache');
  await vsctl(server.unixRemote, 'set', 'port', 'w1', 'external_ids:n=after');
  await vsctl(server.unixRemote, 'set', 'port', 'w2', 'external_ids:n=after');
  await new Promise((r) => setTimeout(r, 200));
  t.same(portNames(), [], 'and its monitor is gone');
});
