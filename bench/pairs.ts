/**
 * Two daemons compared call by call (the metrics cost, metrics-cost.ts): the calls are taken in
 * pairs, one on each daemon, and which one goes first alternates from pair to pair, so that a
 * change of the machine's load and any first-or-second effect fall on both alike.
 *
 * Whether the difference is measurable is a sign test over the pairs (with no difference, "on was
 * slower" is a coin toss in each pair), which needs no assumption about the shape of the latency
 * distribution and uses the pairing. Shown beside it, the run's own noise as one daemon differs
 * from itself: its samples split into two halves that each hold both orders and span the run.
 */
import type { Sample } from './method.ts';
import { percentile } from './stats.ts';

export type Side = 'off' | 'on';

/** Pair i: off first when i is even, on first when it is odd. */
export const pairOrder = (i: number): readonly [Side, Side] => (i % 2 === 0 ? ['off', 'on'] : ['on', 'off']);

export interface Paired {
  readonly off: readonly Sample[];
  readonly on: readonly Sample[];
}

/** `n` pairs, one call after the other in pairOrder; sample i of each side belongs to pair i. */
export async function paired(n: number, call: (side: Side, i: number) => Promise<Sample>): Promise<Paired> {
  const out: Record<Side, Sample[]> = { off: [], on: [] };
  for (let i = 0; i < n; i++) {
    for (const side of pairOrder(i)) out[side].push(await call(side, i));
  }
  return out;
}

/**
 * Pairs 0 and 1 in the first half, 2 and 3 in the second, 4 and 5 in the first…: each half has
 * as many pairs where its side went first as where it went second, spread over the whole run.
 */
export function halves<T>(items: readonly T[]): [T[], T[]] {
  const a: T[] = [];
  const b: T[] = [];
  for (const [i, item] of items.entries()) (Math.floor(i / 2) % 2 === 0 ? a : b).push(item);
  return [a, b];
}

export interface SideFigures {
  /** Successful calls. */
  readonly n: number;
  readonly total: number;
  readonly p50: number;
  readonly p90: number;
}

export interface Comparison {
  readonly off: SideFigures;
  readonly on: SideFigures;
  /** p50 on / p50 off. */
  readonly ratio: number;
  /** p90 on / p90 off. */
  readonly ratioP90: number;
  /** p50 of one half / p50 of the other, for each side alone: the run's own noise. */
  readonly offSpread: number;
  readonly onSpread: number;
  /** The median, over the pairs where both calls succeeded, of on − off (ms). */
  readonly pairDiffP50: number;
  /** Pairs where both succeeded and took different times, and those where on was slower. */
  readonly unequalPairs: number;
  readonly onSlower: number;
  /** Two-sided sign test of onSlower out of unequalPairs. */
  readonly signP: number;
}

/**
 * The two-sided sign test: 2 · P(X ≤ min(k, n − k)) for X ~ Binomial(n, 1/2), at most 1: how
 * likely a split of n pairs at least as uneven as k to n − k is when either side of each pair is
 * as likely to be the slower. Each term is computed in logarithms, so n in the thousands neither
 * overflows nor loses the terms that matter.
 */
export function signTestP(k: number, n: number): number {
  if (n === 0) return 1;
  const low = Math.min(k, n - k);
  let logTerm = n * Math.log(0.5);
  let tail = 0;
  for (let i = 0; i <= low; i++) {
    tail += Math.exp(logTerm);
    logTerm += Math.log((n - i) / (i + 1));
  }
  return Math.min(1, 2 * tail);
}

const sortedMs = (samples: readonly Sample[]): number[] => samples.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b);

function figures(samples: readonly Sample[]): SideFigures {
  const sorted = sortedMs(samples);
  return { n: sorted.length, total: samples.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90) };
}

function spread(samples: readonly Sample[]): number {
  const [a, b] = halves(samples);
  return percentile(sortedMs(a), 50) / percentile(sortedMs(b), 50);
}

export function compare(p: Paired): Comparison {
  const off = figures(p.off);
  const on = figures(p.on);
  const diffs: number[] = [];
  // Pairs where both succeeded: on − off.
  for (const [i, o] of p.off.entries()) {
    const n = p.on[i];
    if (o.ok && n?.ok === true) diffs.push(n.ms - o.ms);
  }
  const unequal = diffs.filter((d) => d !== 0).length;
  const slower = diffs.filter((d) => d > 0).length;
  return {
    off,
    on,
    ratio: on.p50 / off.p50,
    ratioP90: on.p90 / off.p90,
    offSpread: spread(p.off),
    onSpread: spread(p.on),
    pairDiffP50: percentile(diffs.sort((a, b) => a - b), 50),
    unequalPairs: unequal,
    onSlower: slower,
    signP: signTestP(slower, unequal),
  };
}

/** How far from 1 the same daemon's two halves are, the larger of the two sides (0.05 = 5 %). */
const noiseOf = (c: Comparison): number => Math.max(Math.abs(c.offSpread - 1), Math.abs(c.onSpread - 1));

/** Below this, the sign test calls the difference measurable. */
const SIGNIFICANCE = 0.05;

/**
 * One line against the goal "no measurable cost": measurable when the sign test says on and off
 * differ (p < SIGNIFICANCE); the p50 ratio, the median per pair and the run's own noise beside it.
 */
export function verdict(c: Comparison, what: string): string {
  if (c.unequalPairs === 0 || !Number.isFinite(c.ratio)) return `${what}: not enough successful pairs for a verdict.`;
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  const noise = noiseOf(c);
  const measured =
    `${what} p50 with metrics on is ${c.ratio.toFixed(3)}× off's, median per pair ${c.pairDiffP50 >= 0 ? '+' : ''}${c.pairDiffP50.toFixed(1)} ms; ` +
    `on was slower in ${c.onSlower} of ${c.unequalPairs} pairs (sign test p = ${c.signP.toFixed(2)})`;
  const context = Number.isFinite(noise) ? `; the same daemon's two halves differ by up to ${pct(noise)} in this run` : '';
  if (c.signP >= SIGNIFICANCE) return `${measured}: within this run's noise, **no measurable cost**${context}.`;
  if (c.onSlower * 2 < c.unequalPairs) return `${measured}: faster with metrics on, which no cost explains: noise this run did not even out${context}.`;
  return `${measured}: **a measurable cost**, the median per pair being ${pct(c.pairDiffP50 / c.off.p50)} of off's p50${context}.`;
}
