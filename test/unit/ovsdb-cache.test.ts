import t from 'tap';
import { TableCache } from '../../daemon/ovsdb/cache.ts';
import type { RowChange } from '../../daemon/ovsdb/cache.ts';
import { OvsdbProtocolError, OvsdbSchemaError } from '../../daemon/errors.ts';
import { monitorParams, notificationUpdates, planMonitor, sinceReply } from '../../daemon/ovsdb/monitor.ts';
import { parseUuid } from '../../daemon/ovsdb/notation.ts';
import { loadSchema, VSWITCH_SCHEMA } from '../helpers/schemas.ts';

const schema = await loadSchema(VSWITCH_SCHEMA);
const plan = planMonitor(schema, { Bridge: ['name', 'ports', 'external_ids', 'fail_mode'], Port: ['name', 'tag'] });
const B1 = parseUuid('00000000-0000-4000-8000-0000000000b1');
const B2 = parseUuid('00000000-0000-4000-8000-0000000000b2');
const P1 = parseUuid('00000000-0000-4000-8000-0000000000a1');
const P2 = parseUuid('00000000-0000-4000-8000-0000000000a2');

function recorder(cache: TableCache): RowChange[] {
  const changes: RowChange[] = [];
  cache.on('change', (change) => changes.push(change));
  return changes;
}

const kind = (c: RowChange): string => (c.old === undefined ? 'add' : c.new === undefined ? 'delete' : 'update');

t.test('monitor requests', async (t) => {
  t.same(monitorParams('Open_vSwitch', 'db', plan), [
    'Open_vSwitch',
    'db',
    { Bridge: [{ columns: ['name', 'ports', 'external_ids', 'fail_mode'] }], Port: [{ columns: ['name', 'tag'] }] },
  ]);
  const all = planMonitor(schema, { Open_vSwitch: [] });
  t.ok(all.get('Open_vSwitch')?.includes('bridges'), 'an empty column list means every column');
  t.throws(() => planMonitor(schema, { Nope: [] }), OvsdbSchemaError);
  t.throws(() => planMonitor(schema, { Bridge: ['nope'] }), OvsdbSchemaError);
  t.same(notificationUpdates('update2', ['db', { Bridge: {} }], 'db'), { updates: { Bridge: {} } });
  t.same(notificationUpdates('update3', ['db', 'a-txn', { Bridge: {} }], 'db'), { updates: { Bridge: {} }, txnId: 'a-txn' });
  t.throws(() => notificationUpdates('update3', ['db', { Bridge: {} }], 'db'), OvsdbProtocolError);
  t.equal(notificationUpdates('update2', ['server', {}], 'db'), undefined, 'another monitor');
  t.throws(() => notificationUpdates('update2', ['db'], 'db'), OvsdbProtocolError);
  t.throws(() => notificationUpdates('update2', ['db', []], 'db'), OvsdbProtocolError);
  t.same(sinceReply([true, 'txn-1', { Bridge: {} }]), { found: true, txnId: 'txn-1', updates: { Bridge: {} } }, 'monitor_cond_since reply');
  t.throws(() => sinceReply([true, 'txn-1']), OvsdbProtocolError);
  t.throws(() => sinceReply(['yes', 'txn-1', {}]), OvsdbProtocolError);
});

t.test('update2: initial rows get defaults, then insert, modify and delete', async (t) => {
  const cache = new TableCache();
  const changes = recorder(cache);
  cache.resync(schema, plan, 'update2', {
    Bridge: { [B1]: { initial: { name: 'br-int', ports: ['uuid', P1] } } },
    Port: { [P1]: { initial: { name: 'p1' } } },
  });
  t.same(cache.row('Bridge', B1), { _uuid: B1, name: 'br-int', ports: [P1], external_ids: new Map(), fail_mode: undefined });
  t.same(cache.row('Port', P1), { _uuid: P1, name: 'p1', tag: undefined });
  t.same(changes.map(kind), ['add', 'add']);

  changes.length = 0;
  cache.update('update2', {
    Port: { [P2]: { insert: { name: 'p2', tag: 7 } } },
    Bridge: {
      [B1]: {
        modify: { ports: ['uuid', P2], external_ids: ['map', [['owner', 'me']]], fail_mode: 'secure' },
      },
    },
  });
  t.same(cache.row('Bridge', B1), {
    _uuid: B1,
    name: 'br-int',
    ports: [P1, P2],
    external_ids: new Map([['owner', 'me']]),
    fail_mode: 'secure',
  });
  t.same(changes.map(kind), ['add', 'update']);
  t.same(changes[1]?.old?.['ports'], [P1], 'the event carries the old row');

  changes.length = 0;
  cache.update('update2', {
    Bridge: { [B1]: { modify: { ports: ['set', [['uuid', P1]]], fail_mode: ['set', []] } } },
    Port: { [P1]: { delete: null } },
  });
  t.same(cache.row('Bridge', B1)?.['ports'], [P2]);
  t.equal(cache.row('Bridge', B1)?.['fail_mode'], undefined);
  t.equal(cache.row('Port', P1), undefined);
  t.same(changes.map(kind), ['update', 'delete']);
  t.same(changes[1], { table: 'Port', uuid: P1, old: { _uuid: P1, name: 'p1', tag: undefined }, new: undefined });
  t.same([...cache.table('Port').keys()], [P2]);
  t.equal(cache.table('Nope').size, 0);
});

t.test('update: old/new rows', async (t) => {
  const cache = new TableCache();
  const changes = recorder(cache);
  cache.resync(schema, plan, 'update', {
    Bridge: { [B1]: { new: { name: 'br-int', ports: ['set', []], external_ids: ['map', []], fail_mode: ['set', []] } } },
  });
  cache.update('update', { Bridge: { [B1]: { old: { fail_mode: ['set', []] }, new: { fail_mode: 'standalone' } } } });
  t.same(cache.row('Bridge', B1), { _uuid: B1, name: 'br-int', ports: [], external_ids: new Map(), fail_mode: 'standalone' });
  cache.update('update', { Bridge: { [B1]: { old: { name: 'br-int' } } } });
  t.equal(cache.row('Bridge', B1), undefined);
  t.same(changes.map(kind), ['add', 'update', 'delete']);
});

t.test('resync emits deletes for rows gone, updates only for rows that differ', async (t) => {
  const cache = new TableCache();
  cache.resync(schema, plan, 'update2', {
    Bridge: { [B1]: { initial: { name: 'a' } }, [B2]: { initial: { name: 'b' } } },
    Port: { [P1]: { initial: { name: 'p1', tag: 1 } } },
  });
  const changes = recorder(cache);
  cache.resync(schema, plan, 'update2', {
    Bridge: { [B1]: { initial: { name: 'a' } } },
    Port: { [P1]: { initial: { name: 'p1', tag: 2 } }, [P2]: { initial: { name: 'p2' } } },
  });
  t.same(
    changes.map((c) => [kind(c), c.table, c.uuid]),
    [
      ['delete', 'Bridge', B2],
      ['update', 'Port', P1],
      ['add', 'Port', P2],
    ],
  );
  t.same([...cache.table('Bridge').keys()], [B1]);
});

t.test('listeners see the whole notification applied', async (t) => {
  const cache = new TableCache();
  cache.resync(schema, plan, 'update2', {});
  const seen: boolean[] = [];
  cache.on('change', () => seen.push(cache.row('Port', P1) !== undefined && cache.row('Bridge', B1) !== undefined));
  cache.update('update2', { Bridge: { [B1]: { insert: { name: 'a' } } }, Port: { [P1]: { insert: { name: 'p' } } } });
  t.same(seen, [true, true]);
});

t.test('invalid updates are protocol errors', async (t) => {
  const cache = new TableCache();
  t.throws(() => cache.update('update2', {}), OvsdbProtocolError, 'before the monitor reply');
  cache.resync(schema, plan, 'update2', {});
  const bad: unknown[] = [
    [],
    { Interface: {} },
    { Bridge: { 'not-a-uuid': { insert: {} } } },
    { Bridge: { [B1]: { modify: { name: 'x' } } } },
    { Bridge: { [B1]: { insert: { name: 5 } } } },
    { Bridge: { [B1]: { upsert: {} } } },
  ];
  for (const updates of bad) t.throws(() => cache.update('update2', updates), OvsdbProtocolError, JSON.stringify(updates));
});

t.test('waitForRow', async (t) => {
  const cache = new TableCache();
  cache.resync(schema, plan, 'update2', { Port: { [P1]: { initial: { name: 'p1' } } } });

  t.test('resolves at once from the cache', async (t) => {
    const row = await cache.waitForRow('Port', (r) => r['name'] === 'p1', AbortSignal.timeout(1000));
    t.equal(row['_uuid'], P1);
  });

  t.test('resolves on a later change, and removes its listener', async (t) => {
    const before = cache.listenerCount('change');
    const waiting = cache.waitForRow('Port', (r) => r['tag'] === 5, AbortSignal.timeout(1000));
    cache.update('update2', { Port: { [P2]: { insert: { name: 'p2' } } } });
    cache.update('update2', { Port: { [P2]: { modify: { tag: 5 } } } });
    t.same(await waiting, { _uuid: P2, name: 'p2', tag: 5 });
    t.equal(cache.listenerCount('change'), before);
  });

  t.test('rejects with the abort reason, and removes its listener', async (t) => {
    const before = cache.listenerCount('change');
    const controller = new AbortController();
    const waiting = cache.waitForRow('Port', () => false, controller.signal);
    const reason = new Error('deadline');
    controller.abort(reason);
    await t.rejects(waiting, reason);
    t.equal(cache.listenerCount('change'), before);
    await t.rejects(cache.waitForRow('Port', () => true, AbortSignal.abort(reason)), reason, 'already aborted');
  });
});

t.test('waitForRowChange: one row by uuid', async (t) => {
  const cache = new TableCache();
  cache.resync(schema, plan, 'update2', { Port: { [P1]: { initial: { name: 'p1' } }, [P2]: { initial: { name: 'p2' } } } });
  t.equal((await cache.waitForRowChange('Port', P1, (r) => r['name'] === 'p1', AbortSignal.timeout(1000)))?.['_uuid'], P1, 'at once when it holds');
  const before = cache.listenerCount('change');
  const tagged = cache.waitForRowChange('Port', P1, (r) => r['tag'] === 7, AbortSignal.timeout(1000));
  cache.update('update2', { Port: { [P2]: { modify: { tag: 7 } } } });
  cache.update('update2', { Port: { [P1]: { modify: { tag: 7 } } } });
  t.same(await tagged, { _uuid: P1, name: 'p1', tag: 7 }, 'on a change of that row, not of another one');
  t.equal(cache.listenerCount('change'), before, 'its listener removed');
  const gone = cache.waitForRowChange('Port', P2, () => false, AbortSignal.timeout(1000));
  cache.update('update2', { Port: { [P2]: { delete: null } } });
  t.equal(await gone, undefined, 'undefined once the row is deleted');
  t.equal(await cache.waitForRowChange('Port', P2, () => false, AbortSignal.timeout(1000)), undefined, 'undefined at once for a row that is not there');
  const reason = new Error('deadline');
  await t.rejects(cache.waitForRowChange('Port', P1, () => false, AbortSignal.abort(reason)), reason, 'the abort reason');
});
