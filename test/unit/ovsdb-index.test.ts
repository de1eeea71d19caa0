// Secondary indexes on the cache (daemon/ovsdb/index.ts): kept current through insert, modify,
// delete and resync, for unique and multi-valued keys, whether registered before or after the
// rows came, and current by the time a `change` event is emitted.
import t from 'tap';
import { TableCache } from '../../daemon/ovsdb/cache.ts';
import { OvsdbConfigError, OvsdbProtocolError } from '../../daemon/errors.ts';
import { columnKeys, type CacheIndex, type KeysOf } from '../../daemon/ovsdb/index.ts';
import { planMonitor } from '../../daemon/ovsdb/monitor.ts';
import { parseUuid, type Uuid } from '../../daemon/ovsdb/notation.ts';
import { loadSchema, VSWITCH_SCHEMA } from '../helpers/schemas.ts';

const schema = await loadSchema(VSWITCH_SCHEMA);
const plan = planMonitor(schema, { Bridge: ['name', 'ports', 'external_ids'], Port: ['name', 'tag', 'trunks'] });
const uuid = (n: number): Uuid => parseUuid(`00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`);
const [B1, B2, B3, P1, P2, P3, P4] = [0xb1, 0xb2, 0xb3, 0xa1, 0xa2, 0xa3, 0xa4].map(uuid) as [Uuid, Uuid, Uuid, Uuid, Uuid, Uuid, Uuid];
type Tap = typeof t;
const ref = (...uuids: Uuid[]) => ['set', uuids.map((u) => ['uuid', u])];

/** key -> sorted uuids, for every key asked about. */
function view(t: Pick<Tap, 'equal' | 'ok'>, index: CacheIndex, keys: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const key of keys) {
    const uuids = [...index.get(key)].sort();
    t.equal(index.count(key), uuids.length, `count(${key})`);
    t.equal(index.has(key), uuids.length > 0, `has(${key})`);
    for (const u of uuids) t.ok(index.has(key, u), `has(${key}, ${u})`);
    if (uuids.length > 0) out[key] = uuids;
  }
  return out;
}

function fresh(): TableCache {
  const cache = new TableCache();
  cache.resync(schema, plan, 'update2', {});
  return cache;
}

t.test('a unique key (name): insert, rename, delete', async (t) => {
  const cache = fresh();
  const byName = cache.index('Bridge', 'name', columnKeys('name'));
  t.equal(byName.table, 'Bridge');
  t.equal(byName.name, 'name');
  cache.update('update2', { Bridge: { [B1]: { insert: { name: 'br-int' } }, [B2]: { insert: { name: 'br-ex' } } } });
  t.same(view(t, byName, ['br-int', 'br-ex', 'nope']), { 'br-int': [B1], 'br-ex': [B2] });
  t.same(byName.rows('br-int'), [cache.row('Bridge', B1)], 'rows() gives the cached rows');
  t.same(byName.rows('nope'), []);

  cache.update('update2', { Bridge: { [B1]: { modify: { name: 'br-renamed' } } } });
  t.same(view(t, byName, ['br-int', 'br-renamed']), { 'br-renamed': [B1] }, 'the old key is gone');
  cache.update('update2', { Bridge: { [B1]: { modify: { external_ids: ['map', [['a', 'b']]] } } } });
  t.same(view(t, byName, ['br-renamed']), { 'br-renamed': [B1] }, 'a change to another column leaves the key');
  cache.update('update2', { Bridge: { [B1]: { delete: null } } });
  t.same(view(t, byName, ['br-renamed', 'br-ex']), { 'br-ex': [B2] });
  t.equal(byName.size, 1, 'no empty keys are left behind');
});

t.test('a key that several rows share', async (t) => {
  const cache = fresh();
  const byName = cache.index('Bridge', 'name', columnKeys('name'));
  cache.update('update2', { Bridge: { [B1]: { insert: { name: 'same' } }, [B2]: { insert: { name: 'same' } }, [B3]: { insert: { name: 'same' } } } });
  t.same(view(t, byName, ['same']), { same: [B1, B2, B3] });
  t.same(byName.rows('same').map((r) => r['_uuid']), [...cache.table('Bridge').keys()], 'rows() in table order');
  cache.update('update2', { Bridge: { [B2]: { delete: null } } });
  t.same(view(t, byName, ['same']), { same: [B1, B3] });
  cache.update('update2', { Bridge: { [B1]: { modify: { name: 'other' } } } });
  t.same(view(t, byName, ['same', 'other']), { same: [B3], other: [B1] }, 'down to one row again');
  cache.update('update2', { Bridge: { [B3]: { delete: null } } });
  t.same(view(t, byName, ['same', 'other']), { other: [B1] });
});

t.test('a multi-valued key (a set column): port -> bridge', async (t) => {
  const cache = fresh();
  const byPort = cache.index('Bridge', 'ports', columnKeys('ports'));
  cache.update('update2', {
    Bridge: { [B1]: { insert: { name: 'a', ports: ref(P1, P2) } }, [B2]: { insert: { name: 'b', ports: ref(P3) } } },
  });
  t.same(view(t, byPort, [P1, P2, P3, P4]), { [P1]: [B1], [P2]: [B1], [P3]: [B2] });
  cache.update('update2', { Bridge: { [B1]: { modify: { ports: ref(P4) } } } });
  t.same(view(t, byPort, [P1, P2, P3, P4]), { [P1]: [B1], [P2]: [B1], [P3]: [B2], [P4]: [B1] }, 'a port added at the end');
  cache.update('update2', { Bridge: { [B1]: { modify: { ports: ref(P2) } } } });
  t.same(view(t, byPort, [P1, P2, P3, P4]), { [P1]: [B1], [P3]: [B2], [P4]: [B1] }, 'a port removed from the middle');
  cache.update('update2', { Bridge: { [B2]: { modify: { ports: ref(P1, P3) } } } });
  t.same(view(t, byPort, [P1, P2, P3, P4]), { [P1]: [B1, B2], [P4]: [B1] }, 'one added, one removed; a port on two bridges');
  cache.update('update2', { Bridge: { [B1]: { delete: null } } });
  t.same(view(t, byPort, [P1, P2, P3, P4]), { [P1]: [B2] });
});

t.test('key lists: large changes, repeated keys, numbers', async (t) => {
  const cache = fresh();
  const many = Array.from({ length: 100 }, (_, i) => uuid(0x1000 + i));
  const byPort = cache.index('Bridge', 'ports', columnKeys('ports'));
  cache.update('update2', { Bridge: { [B1]: { insert: { name: 'a', ports: ref(...many) } } } });
  t.equal(byPort.size, 100);
  // Every other port leaves and 10 come: a change in many places, diffed with a Set.
  const leaving = many.filter((_, i) => i % 2 === 0);
  const coming = Array.from({ length: 10 }, (_, i) => uuid(0x2000 + i));
  cache.update('update2', { Bridge: { [B1]: { modify: { ports: ref(...leaving, ...coming) } } } });
  t.equal(byPort.size, 60);
  t.notOk(leaving.some((u) => byPort.has(u)), 'the ones that left are gone');
  t.ok([...many.filter((_, i) => i % 2 === 1), ...coming].every((u) => byPort.has(u, B1)), 'the others are there');

  // A key function that repeats a key, and one over a column of numbers (no keys).
  const doubled: KeysOf = (row) => {
    const name = row['name'];
    return typeof name === 'string' ? [name, name.toUpperCase(), name] : [];
  };
  const byDoubled = cache.index('Bridge', 'doubled', doubled);
  t.same(view(t, byDoubled, ['a', 'A']), { a: [B1], A: [B1] });
  cache.update('update2', { Bridge: { [B1]: { modify: { name: 'A' } } } });
  t.same(view(t, byDoubled, ['a', 'A']), { A: [B1] }, 'a key still listed elsewhere in the new list stays');
  cache.update('update2', { Port: { [P1]: { insert: { name: 'p', trunks: ['set', [1, 2]] } } } });
  t.equal(cache.index('Port', 'trunks', columnKeys('trunks')).size, 0, 'only strings and uuids are keys');
});

t.test('registered late: built from the rows already there', async (t) => {
  const cache = new TableCache();
  const early = cache.index('Bridge', 'name', columnKeys('name'));
  t.equal(early.size, 0, 'before any monitor reply: empty');
  cache.resync(schema, plan, 'update2', { Bridge: { [B1]: { initial: { name: 'a', ports: ref(P1) } } } });
  t.same(view(t, early, ['a']), { a: [B1] }, 'registered before the rows came');
  const late = cache.index('Bridge', 'ports', columnKeys('ports'));
  t.same(view(t, late, [P1]), { [P1]: [B1] }, 'registered after');
  cache.update('update2', { Bridge: { [B1]: { modify: { ports: ref(P2) } } } });
  t.same(view(t, late, [P1, P2]), { [P1]: [B1], [P2]: [B1] }, 'and followed from then on');
  t.equal(cache.index('Bridge', 'ports', columnKeys('ports')), late, 'asking again gives the same index');
  t.throws(() => cache.index('Bridge', 'ports', () => ['x']), OvsdbConfigError, 'other keys under the same name are a bug');
  t.equal(cache.index('Port', 'name', columnKeys('name')).size, 0, 'a table not monitored: empty');
});

t.test('resync rebuilds', async (t) => {
  const cache = new TableCache();
  cache.resync(schema, plan, 'update2', {
    Bridge: { [B1]: { initial: { name: 'a', ports: ref(P1, P2) } }, [B2]: { initial: { name: 'b' } } },
  });
  const byName = cache.index('Bridge', 'name', columnKeys('name'));
  const byPort = cache.index('Bridge', 'ports', columnKeys('ports'));
  cache.resync(schema, plan, 'update2', {
    Bridge: { [B1]: { initial: { name: 'a2', ports: ref(P2, P3) } }, [B3]: { initial: { name: 'b' } } },
  });
  t.same(view(t, byName, ['a', 'a2', 'b']), { a2: [B1], b: [B3] });
  t.same(view(t, byPort, [P1, P2, P3]), { [P2]: [B1], [P3]: [B1] });
  t.same(byName.rows('b'), [cache.row('Bridge', B3)], 'the rows are the new ones');
  cache.resync(schema, plan, 'update2', {});
  t.equal(byName.size + byPort.size, 0, 'everything gone');
});

t.test('current when a change is emitted, and after an invalid update', async (t) => {
  const cache = fresh();
  const byName = cache.index('Bridge', 'name', columnKeys('name'));
  const seen: string[] = [];
  cache.on('change', (change) => seen.push(`${change.uuid === B1 ? 'B1' : 'B2'}:${[...byName.get('x')].length}`));
  cache.update('update2', { Bridge: { [B1]: { insert: { name: 'x' } }, [B2]: { insert: { name: 'x' } } } });
  t.same(seen, ['B1:2', 'B2:2'], 'listeners see the whole notification indexed');

  // A notification whose second row is invalid: the first stays applied, and indexed.
  seen.length = 0;
  t.throws(() => cache.update('update2', { Bridge: { [B1]: { modify: { name: 'y' } }, [B3]: { modify: { name: 'z' } } } }), OvsdbProtocolError);
  t.equal(cache.row('Bridge', B1)?.['name'], 'y');
  t.same(view(t, byName, ['x', 'y']), { x: [B2], y: [B1] }, 'the index follows what the table holds');
  t.same(seen, [], 'no events for a notification that failed');
});
