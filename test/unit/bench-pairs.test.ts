// The metrics-cost bench's pure parts (bench/pairs.ts, bench/metrics-cost.ts parseScrape): calls
// in pairs with alternating order, the halves that measure the run's own noise, the on/off
// comparison, the sign test and the verdict, and the scraper's lines narrowed.
import t from 'tap';
import { compare, halves, paired, pairOrder, signTestP, verdict, type Paired, type Side } from '../../bench/pairs.ts';
import { parseScrape } from '../../bench/metrics-cost.ts';
import type { Sample } from '../../bench/method.ts';

const at = { ns: 0n, wallMs: 0 };
const sample = (ms: number, ok = true): Sample => ({ pod: undefined, ms, start: at, end: at, ok, detail: ok ? '' : 'failed', steps: [] });
const samples = (ms: readonly number[]): Sample[] => ms.map((x) => sample(x));

t.test('pairs alternate which side goes first', async (t) => {
  t.same([0, 1, 2, 3].map(pairOrder), [['off', 'on'], ['on', 'off'], ['off', 'on'], ['on', 'off']]);
  const calls: string[] = [];
  const p = await paired(3, (side: Side, i: number) => {
    calls.push(`${side}${i}`);
    return Promise.resolve(sample(i));
  });
  t.same(calls, ['off0', 'on0', 'on1', 'off1', 'off2', 'on2'], 'one call after the other, in pair order');
  t.same(p.off.map((s) => s.ms), [0, 1, 2], 'sample i of each side is pair i');
  t.same(p.on.map((s) => s.ms), [0, 1, 2]);
});

t.test('halves: each holds both orders and spans the run', async (t) => {
  t.same(halves([0, 1, 2, 3, 4, 5, 6, 7, 8]), [[0, 1, 4, 5, 8], [2, 3, 6, 7]]);
  t.same(halves([]), [[], []]);
});

t.test('compare: percentiles, ratios, halves and the per-pair difference', async (t) => {
  const p: Paired = { off: samples([10, 10, 12, 12, 10, 10, 12, 12, 11, 11]), on: samples([11, 11, 13, 13, 11, 11, 13, 13, 12, 12]) };
  const c = compare(p);
  t.same(c.off, { n: 10, total: 10, p50: 11, p90: 12 });
  t.same(c.on, { n: 10, total: 10, p50: 12, p90: 13 });
  t.equal(c.ratio, 12 / 11);
  t.equal(c.ratioP90, 13 / 12);
  t.equal(c.offSpread, 10 / 12, 'off: pairs 0,1,4,5,8,9 against 2,3,6,7');
  t.equal(c.onSpread, 11 / 13);
  t.equal(c.pairDiffP50, 1);
  t.same([c.onSlower, c.unequalPairs, c.signP], [10, 10, 2 / 1024], 'on slower in every pair');

  const failing = compare({ off: [sample(5), sample(9, false), sample(7)], on: [sample(6), sample(8), sample(1, false)] });
  t.same(failing.off, { n: 2, total: 3, p50: 5, p90: 7 }, 'failed calls are left out');
  t.equal(failing.pairDiffP50, 1, 'only pairs where both succeeded');
  t.same([failing.onSlower, failing.unequalPairs], [1, 1]);
});

t.test('the sign test', async (t) => {
  t.equal(signTestP(0, 10), 2 / 1024, 'all ten on one side');
  t.equal(signTestP(10, 10), 2 / 1024, 'either side');
  t.equal(signTestP(5, 10), 1, 'an even split: capped at 1');
  t.equal(signTestP(0, 0), 1, 'no pair');
  t.ok(Math.abs(signTestP(1, 10) - 22 / 1024) < 1e-12, '(1 + 10) / 1024, doubled');
  t.equal(signTestP(2500, 5000), 1, 'thousands of pairs: no overflow');
  const p = signTestP(2300, 5000);
  t.ok(p > 0 && p < 1e-6, `an uneven split of 5,000 is tiny but not lost (${p})`);
});

t.test('verdict: the sign test decides, the ratio and the halves beside it', async (t) => {
  const pairs = (off: number, on: (i: number) => number): Paired => ({
    off: samples(Array.from({ length: 10 }, () => off)),
    on: samples(Array.from({ length: 10 }, (_, i) => on(i))),
  });
  t.equal(
    verdict(compare(pairs(100, (i) => (i % 2 === 0 ? 102 : 98))), 'ADD'),
    "ADD p50 with metrics on is 0.980× off's, median per pair -2.0 ms; on was slower in 5 of 10 pairs (sign test p = 1.00): within this run's noise, **no measurable cost**; the same daemon's two halves differ by up to 0.0 % in this run.",
  );
  t.match(verdict(compare(pairs(100, () => 102)), 'ADD'), /slower in 10 of 10 pairs \(sign test p = 0\.00\): \*\*a measurable cost\*\*, the median per pair being 2\.0 % of off's p50;/);
  t.match(verdict(compare(pairs(100, () => 98)), 'DEL'), /^DEL p50 .*0\.980×.*slower in 0 of 10 pairs.*: faster with metrics on, which no cost explains/);
  t.equal(verdict(compare({ off: [], on: [] }), 'ADD'), 'ADD: not enough successful pairs for a verdict.');
  t.equal(verdict(compare(pairs(100, () => 100)), 'ADD'), 'ADD: not enough successful pairs for a verdict.', 'only ties');
});

t.test('scraper lines', async (t) => {
  t.same(parseScrape('{"ms":3.5,"status":200,"bytes":900,"metric":true}'), { ms: 3.5, ok: true, detail: '' });
  t.match(parseScrape('{"ms":3,"status":503,"bytes":9,"metric":false}'), { ok: false, detail: 'GET /metrics answered 503' });
  t.match(parseScrape('{"ms":3,"status":200,"bytes":9,"metric":false}'), { ok: false, detail: /holds no ovn_multinet_cni_request_duration_seconds/ });
  t.match(parseScrape('{"ms":1000,"error":"TypeError: fetch failed"}'), { ms: 1000, ok: false, detail: 'GET /metrics failed: TypeError: fetch failed' });
  t.match(parseScrape('not json'), { ok: false, detail: /scraper printed "not json"/ });
  t.match(parseScrape('{"status":200}'), { ok: false, detail: /scraper printed/ });
});
