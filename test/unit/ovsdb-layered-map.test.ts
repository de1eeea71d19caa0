// LayeredMap, the cache's value for a large map column after a diff: it reads as the flat map the
// same diffs would give, through random diffs on maps small and large, and leaves the values it
// was made from unchanged (readers keep the value they read).
import t from 'tap';
import { seededRandom } from '../helpers/random.ts';
import { LayeredMap } from '../../daemon/ovsdb/layered-map.ts';
import { isMap } from '../../daemon/ovsdb/notation.ts';

const snapshot = (m: ReadonlyMap<string, string>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

for (const start of [10, 5000]) {
  t.test(`random diffs on a map of ${start}`, async (t) => {
    const rnd = seededRandom(start);
    const flat = new Map<string, string>(Array.from({ length: start }, (_, i) => [`k${i}`, `v${i}`]));
    let layered: ReadonlyMap<string, string> = new Map(flat);
    let layers = 0;
    const kept: Array<{ value: ReadonlyMap<string, string>; expected: Array<[string, string]> }> = [];
    for (let step = 0; step < 400; step++) {
      const set: Array<[string, string]> = [];
      const deleted: string[] = [];
      for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) {
        const key = `k${Math.floor(rnd() * start * 1.2)}`;
        if (rnd() < 0.4) {
          deleted.push(key);
          flat.delete(key);
        } else {
          const value = `s${step}-${i}`;
          set.push([key, value]);
          flat.set(key, value);
        }
      }
      // A key both set and deleted in one diff: the deletion wins, as in `with`.
      for (const key of deleted) flat.delete(key);
      layered = LayeredMap.with(layered, set, deleted);
      if (layered instanceof LayeredMap) layers++;
      if (step % 50 === 0) kept.push({ value: layered, expected: snapshot(flat) });
      const probe = `k${Math.floor(rnd() * start * 1.2)}`;
      if (layered.size !== flat.size || layered.get(probe) !== flat.get(probe) || layered.has(probe) !== flat.has(probe)) {
        t.fail(`step ${step}: size ${layered.size} vs ${flat.size}, ${probe}: ${layered.get(probe)} vs ${flat.get(probe)}`);
        return;
      }
    }
    t.same(snapshot(layered), snapshot(flat), 'the same pairs after 400 diffs');
    t.same([...layered.keys()].length, flat.size, 'keys() as many as the size');
    for (const { value, expected } of kept) t.same(snapshot(value), expected, 'an earlier value still reads as it was');
    t.ok(isMap(layered), 'isMap knows it');
    if (start < 256) t.equal(layers, 0, 'small maps are copied flat');
    else t.ok(layers > 300, `large maps are layered (${layers} of 400), flattened now and then`);
  });
}

t.test('forEach and iteration', async (t) => {
  const base = new Map(Array.from({ length: 2000 }, (_, i) => [i, i] as const));
  const m = LayeredMap.with(base, [[0, 100], [5000, 1]], [1]);
  t.ok(m instanceof LayeredMap);
  const seen = new Map<number, number>();
  m.forEach((v, k) => seen.set(k, v));
  t.equal(seen.size, 2000, '2000 - 1 deleted + 1 added');
  t.equal(seen.get(0), 100);
  t.equal(seen.get(5000), 1);
  t.notOk(seen.has(1));
  t.same([...m.values()].length, 2000);
  t.equal(base.get(0), 0, 'the base is untouched');
});
