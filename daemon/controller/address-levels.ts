/**
 * When a Network's addresses run low or out (pure): its level from its switch's usage
 * (daemon/ipam/usage.ts) and the `--network-low-threshold` percentage, and the Event a change of
 * level calls for. One Event per crossing: up to `low` (Warning AddressesLow), up to `exhausted`
 * (Warning AddressesExhausted), back under the threshold (Normal AddressesAvailable); from
 * `exhausted` down to `low` says nothing (it is still low, and it said so on the way up).
 */
import type { AddressUsage } from '../ipam/usage.ts';
import type { EventType } from '../k8s/events.ts';
import { UnreachableError } from '../errors.ts';

export type AddressLevel = 'ok' | 'low' | 'exhausted';

/** The worst of the switch's subnets: exhausted when one has no address left, low when one is at or above the threshold. */
export function addressLevel(usage: readonly AddressUsage[], thresholdPercent: number): AddressLevel {
  let level: AddressLevel = 'ok';
  for (const u of usage) {
    if (u.capacity === 0n) continue;
    if (u.used >= u.capacity) return 'exhausted';
    if (u.used * 100n >= BigInt(thresholdPercent) * u.capacity) level = 'low';
  }
  return level;
}

export interface AddressAlert {
  type: EventType;
  reason: 'AddressesLow' | 'AddressesExhausted' | 'AddressesAvailable';
  note: string;
}

/** "10.0.0.0/29: 3 of 5 addresses in use (60%)", per subnet. */
export function describeUsage(usage: readonly AddressUsage[]): string {
  return usage.map((u) => `${u.subnet}: ${u.used} of ${u.capacity} addresses in use (${u.capacity === 0n ? 0n : (u.used * 100n) / u.capacity}%)`).join('; ');
}

/** The Event for a change from `previous` to `now` on logical switch `switchName`; undefined when none. */
export function addressAlert(previous: AddressLevel, now: AddressLevel, usage: readonly AddressUsage[], thresholdPercent: number, switchName: string): AddressAlert | undefined {
  if (now === previous) return undefined;
  const where = `logical switch ${switchName}: ${describeUsage(usage)}`;
  switch (now) {
    case 'exhausted':
      return { type: 'Warning', reason: 'AddressesExhausted', note: `no address left to hand out on ${where}` };
    case 'low':
      return previous === 'ok' ? { type: 'Warning', reason: 'AddressesLow', note: `addresses at or above ${thresholdPercent}% in use on ${where}` } : undefined;
    case 'ok':
      return { type: 'Normal', reason: 'AddressesAvailable', note: `addresses below ${thresholdPercent}% in use again on ${where}` };
    default: {
      const never: never = now;
      throw new UnreachableError(`unknown level ${String(never)}`);
    }
  }
}
