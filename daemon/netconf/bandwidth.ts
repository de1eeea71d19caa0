/**
 * runtimeConfig.bandwidth: the CNI capability `bandwidth`, as the reference bandwidth plugin and
 * Multus pass it (`ingressRate`/`egressRate` in bits per second, `ingressBurst`/`egressBurst` in
 * bits). Ingress is what the pod receives, egress what it sends. A rate without a burst gets
 * DEFAULT_BURST_SECONDS of the rate; a burst without a rate is refused.
 */
import { shown } from '../cni-spec/errors.ts';
import { isObject } from '../cni-spec/json.ts';
import { bad } from './bad.ts';

const FIELD = 'runtimeConfig.bandwidth';

/** OVN's QoS `bandwidth` takes kbit/s and kbit, from 1 to 2^32 - 1: the same bounds in bits. */
export const MIN_BITS = 1000;
export const MAX_BITS = 4_294_967_295_000;

/**
 * A burst of one second of the rate: measured on the userspace datapath, TCP through an OVN
 * meter reaches the rate with it, and half the rate with a tenth of a second (docs/bandwidth.md).
 */
export const DEFAULT_BURST_SECONDS = 1;

/** One direction's limit: bits per second, and the bits it may send at once above it. */
export interface BandwidthLimit {
  rate: number;
  burst: number;
}

export interface Bandwidth {
  /** What the pod receives. */
  ingress: BandwidthLimit | undefined;
  /** What the pod sends. */
  egress: BandwidthLimit | undefined;
}

const KEYS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'];

function bits(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < MIN_BITS || value > MAX_BITS) {
    throw bad(field, `must be an integer from ${MIN_BITS} to ${MAX_BITS}`, shown(value));
  }
  return value;
}

function limit(raw: Record<string, unknown>, direction: 'ingress' | 'egress'): BandwidthLimit | undefined {
  const rate = bits(raw[`${direction}Rate`], `${FIELD}.${direction}Rate`);
  const burst = bits(raw[`${direction}Burst`], `${FIELD}.${direction}Burst`);
  if (rate === undefined) {
    if (burst !== undefined) throw bad(`${FIELD}.${direction}Burst`, `needs ${FIELD}.${direction}Rate`);
    return undefined;
  }
  return { rate, burst: burst ?? Math.min(MAX_BITS, rate * DEFAULT_BURST_SECONDS) };
}

/** The limits asked for, or undefined when none is (no key, or no bandwidth at all). */
export function validateBandwidth(value: unknown): Bandwidth | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw bad(FIELD, 'must be an object');
  const unknown = Object.keys(value).find((key) => !KEYS.includes(key));
  if (unknown !== undefined) throw bad(`${FIELD}.${unknown}`, `is not a bandwidth setting (${KEYS.join(', ')})`);
  const ingress = limit(value, 'ingress');
  const egress = limit(value, 'egress');
  return ingress === undefined && egress === undefined ? undefined : { ingress, egress };
}
