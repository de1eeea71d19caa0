/**
 * The Lease record of leader election (coordination.k8s.io/v1), as client-go's resourcelock
 * keeps it, and its arithmetic (pure): a lease is free when it has no holder or its
 * renewTime + leaseDurationSeconds has passed; every acquisition (not a renewal) counts a
 * transition; releasing it
 * clears the holder so a successor need not wait. Times are MicroTime (RFC 3339, 6 fractional
 * digits), which the API server requires for these fields.
 */
import { V1MicroTime, type V1LeaseSpec } from '@kubernetes/client-node';
import { isObject } from '../cni-spec/json.ts';

export interface LeaseRecord {
  holderIdentity: string | undefined;
  leaseDurationSeconds: number | undefined;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  leaseTransitions: number;
}

/** A MicroTime as client-node hands it over: a Date, or (it does not convert this format) a string. */
export function parseMicroTime(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** "2006-01-02T15:04:05.000000Z". */
export const formatMicroTime = (date: Date): string => new V1MicroTime(date.getTime()).toISOString();

export function toLeaseRecord(spec: unknown): LeaseRecord {
  const s = isObject(spec) ? spec : {};
  const holder = s['holderIdentity'];
  const duration = s['leaseDurationSeconds'];
  const transitions = s['leaseTransitions'];
  return {
    holderIdentity: typeof holder === 'string' && holder !== '' ? holder : undefined,
    leaseDurationSeconds: typeof duration === 'number' && duration > 0 ? duration : undefined,
    acquireTime: parseMicroTime(s['acquireTime']),
    renewTime: parseMicroTime(s['renewTime']),
    leaseTransitions: typeof transitions === 'number' && transitions >= 0 ? transitions : 0,
  };
}

/** When the holder's claim ends (ms since the epoch); undefined: there is no valid claim. */
export function leaseExpiry(record: LeaseRecord): number | undefined {
  if (record.holderIdentity === undefined || record.renewTime === undefined || record.leaseDurationSeconds === undefined) return undefined;
  return record.renewTime.getTime() + record.leaseDurationSeconds * 1000;
}

/** Whether `identity` may take the lease now: it holds it already, or nobody validly does. */
export function mayAcquire(record: LeaseRecord, identity: string, now: Date): boolean {
  if (record.holderIdentity === identity) return true;
  const expiry = leaseExpiry(record);
  return expiry === undefined || expiry <= now.getTime();
}

const micro = (date: Date): V1MicroTime => new V1MicroTime(date.getTime());

/** The spec after `identity` acquires (or renews, when it holds it) the lease at `now`. */
export function acquiredSpec(record: LeaseRecord | undefined, identity: string, durationSeconds: number, now: Date): V1LeaseSpec {
  const renewing = record?.holderIdentity === identity;
  const acquired = renewing ? (record?.acquireTime ?? now) : now;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime: micro(acquired),
    renewTime: micro(now),
    leaseTransitions: record === undefined ? 0 : record.leaseTransitions + (renewing ? 0 : 1),
  };
}

/** The spec after the holder gives the lease up (as client-go's ReleaseOnCancel): no holder, 1 s. */
export function releasedSpec(record: LeaseRecord, now: Date): V1LeaseSpec {
  return { leaseDurationSeconds: 1, acquireTime: micro(now), renewTime: micro(now), leaseTransitions: record.leaseTransitions };
}
