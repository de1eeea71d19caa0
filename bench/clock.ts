/**
 * Durations come from process.hrtime.bigint(); the wall-clock stamps taken at the same moments
 * (sub-millisecond, same clock as Date.now()) line samples up with the daemon's log lines and
 * the OVSDB log records.
 */

export interface Stamp {
  readonly ns: bigint;
  /** Milliseconds since the epoch. */
  readonly wallMs: number;
}

export function stamp(): Stamp {
  return { ns: process.hrtime.bigint(), wallMs: performance.timeOrigin + performance.now() };
}

export function elapsedMs(from: Stamp, to: Stamp): number {
  return Number(to.ns - from.ns) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
