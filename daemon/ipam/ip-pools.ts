/**
 * IP pools carved out of a logical switch's subnets (pure; the objects are IPPools,
 * daemon/k8s/ippools.ts, docs/ip-pools.md). A pool is only a narrower IpamSettings for the pods
 * it serves: the allocator (pool.ts) and the guard keys (guards.ts) are the switch's as ever.
 *
 * - Which pools of a switch count (judgePools): reserved pools first, then the others by name; a
 *   range that is not inside one subnet of the switch, or a pool (not reserved) that overlaps one
 *   counted before it, makes the pool not accepted. Reserved pools may overlap each other.
 * - What a pod may get (carve): a pod that a pool serves allocates inside that pool's ranges for
 *   each family the pool has ranges of; for another family, and for a pod no pool serves, the
 *   general range, that is the subnets less every accepted pool's ranges. Reserved ranges are
 *   never handed out to anyone, not even to a static request; a static request may not take an
 *   address of a pool that does not serve the pod.
 */
import { familyOf, ipToBigInt, parseSubnet, type Family, type Subnet } from '../lib/ip.ts';
import type { ExcludedRange, IpamSettings } from './pool.ts';

/** One item of spec.ranges: a CIDR, `a-b` (inclusive) or one address. */
export interface AddressRange {
  family: Family;
  from: bigint;
  to: bigint;
  /** As written. */
  text: string;
}

/** What the carving needs of a pool. */
export interface PoolRanges {
  name: string;
  /** Kept out of every pool and of the allocator: serves no pod. */
  reserved: boolean;
  ranges: readonly AddressRange[];
}

/** Parses a CIDR (host bits zero), `a-b` of one family with a ≤ b, or one address; undefined otherwise. */
export function parseAddressRange(text: string): AddressRange | undefined {
  if (text.includes('/')) {
    const subnet = parseSubnet(text);
    return subnet === undefined ? undefined : { family: subnet.family, from: subnet.network, to: subnet.last, text };
  }
  const [first = '', last = first, ...rest] = text.split('-');
  const family = familyOf(first);
  if (rest.length > 0 || family === undefined || familyOf(last) !== family) return undefined;
  const from = ipToBigInt(first);
  const to = ipToBigInt(last);
  return from <= to ? { family, from, to, text } : undefined;
}

export type PoolVerdict =
  | { accepted: true }
  | { accepted: false; reason: 'RangeOutsideSubnets' | 'Overlaps'; field: string; message: string };

const overlapping = (a: AddressRange, b: AddressRange): boolean => a.family === b.family && a.from <= b.to && b.from <= a.to;

/** Reserved pools first, then by name: the order in which pools are judged (and overlaps blamed). */
function judgingOrder(a: PoolRanges, b: PoolRanges): number {
  if (a.reserved !== b.reserved) return a.reserved ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Whether each pool of one switch (with these subnets) is accepted, and why not. */
export function judgePools(pools: readonly PoolRanges[], subnets: readonly Subnet[]): Map<string, PoolVerdict> {
  const verdicts = new Map<string, PoolVerdict>();
  const counted: PoolRanges[] = [];
  for (const pool of [...pools].sort(judgingOrder)) {
    const verdict = judgeOne(pool, subnets, counted);
    verdicts.set(pool.name, verdict);
    if (verdict.accepted) counted.push(pool);
  }
  return verdicts;
}

function judgeOne(pool: PoolRanges, subnets: readonly Subnet[], counted: readonly PoolRanges[]): PoolVerdict {
  for (const [i, range] of pool.ranges.entries()) {
    const field = `spec.ranges[${i}]`;
    if (!subnets.some((s) => s.family === range.family && s.network <= range.from && range.to <= s.last)) {
      const within = subnets.length === 0 ? 'the logical switch has no subnet' : `the subnets are ${subnets.map((s) => s.cidr).join(', ')}`;
      return { accepted: false, reason: 'RangeOutsideSubnets', field, message: `${field}: ${range.text} is not inside one subnet of the network (${within})` };
    }
    if (pool.reserved) continue;
    for (const other of counted) {
      const hit = other.ranges.find((r) => overlapping(r, range));
      if (hit !== undefined) {
        const what = other.reserved ? `reserved IPPool ${other.name}` : `IPPool ${other.name}`;
        return { accepted: false, reason: 'Overlaps', field, message: `${field}: ${range.text} overlaps ${what} (${hit.text})` };
      }
    }
  }
  return { accepted: true };
}

function excludedBy(ranges: readonly AddressRange[], source: (range: AddressRange) => string): ExcludedRange[] {
  return ranges.map((r) => ({ family: r.family, from: r.from, to: r.to, source: source(r) }));
}

/** The parts of `subnet` outside `ranges` (of its family), as excluded ranges. */
function outside(subnet: Subnet, ranges: readonly AddressRange[], source: string): ExcludedRange[] {
  const inside = ranges.filter((r) => r.family === subnet.family).sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const gaps: ExcludedRange[] = [];
  let next = subnet.network;
  for (const r of inside) {
    if (r.from > next) gaps.push({ family: subnet.family, from: next, to: r.from - 1n, source });
    if (r.to + 1n > next) next = r.to + 1n;
  }
  if (next <= subnet.last) gaps.push({ family: subnet.family, from: next, to: subnet.last, source });
  return gaps;
}

export interface CarvedSettings {
  /** What the allocator picks from for this pod. */
  allocation: IpamSettings;
  /** What the pod's static requests are checked against (neverHandedOut). */
  statics: IpamSettings;
}

/**
 * The settings of a pod on the switch, given its accepted pools and the one that serves the pod
 * (undefined: none does). Without accepted pools, `settings` unchanged.
 */
export function carve(settings: IpamSettings, accepted: readonly PoolRanges[], chosen: PoolRanges | undefined): CarvedSettings {
  const reserved = accepted.filter((p) => p.reserved).flatMap((p) => excludedBy(p.ranges, (r) => `reserved by IPPool ${p.name} (${r.text})`));
  const others = accepted
    .filter((p) => !p.reserved && p.name !== chosen?.name)
    .flatMap((p) => excludedBy(p.ranges, (r) => `in IPPool ${p.name} (${r.text}), which does not serve this pod`));
  const statics: IpamSettings = { ...settings, excluded: [...settings.excluded, ...reserved, ...others] };
  if (chosen === undefined) return { allocation: statics, statics };
  const families = new Set(chosen.ranges.map((r) => r.family));
  const narrowed = settings.subnets.flatMap((s) => (families.has(s.family) ? outside(s, chosen.ranges, `outside IPPool ${chosen.name}'s ranges`) : []));
  const general = others.filter((r) => !families.has(r.family));
  return { allocation: { ...settings, excluded: [...settings.excluded, ...reserved, ...narrowed, ...general] }, statics };
}

/** The settings whose pool (pool.ts poolCapacity, usage.ts usageOf) is the pool's ranges: only its families' subnets. */
export function poolOnlySettings(settings: IpamSettings, pool: PoolRanges): IpamSettings {
  const families = new Set(pool.ranges.map((r) => r.family));
  const subnets = settings.subnets.filter((s) => families.has(s.family));
  return { ...settings, subnets, excluded: [...settings.excluded, ...subnets.flatMap((s) => outside(s, pool.ranges, `outside IPPool ${pool.name}'s ranges`))] };
}

