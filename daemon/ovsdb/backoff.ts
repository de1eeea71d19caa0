// How long the client waits before its next connect: exponential in the attempts that failed
// since the last session that worked, capped, with "equal jitter" (half the wait fixed, half
// random), so that many clients that lost the same server spread out while each keeps a floor
// between its own attempts. A session that ends soon after it began (a server that accepts, then
// drops or refuses it) counts as a failed attempt: only one that stayed up resets the count, so a
// server that drops its clients is not met with a reconnect every few milliseconds.

const MIN_BACKOFF_MS = 50;
// Low enough that work left for a database that was away (reconcile.ts) is done within 5 s of its return.
export const MAX_BACKOFF_MS = 2000;
// A session that lasted this long was a working one: the attempts before it are forgiven.
// Far above a connect plus its initial monitor on a busy server (seconds), so a server that
// drops each session once it has its monitor still backs its clients off.
export const STABLE_SESSION_MS = 30_000;

/** The wait before the next connect after `rounds` rounds of failures: 50 ms doubling up to 2 s, of which a random half is taken off. */
export function backoffMs(rounds: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** rounds);
  return ceiling / 2 + (ceiling / 2) * random();
}

/** The failures counted after a session that lasted `lastedMs` ended: none after a stable one, one more after a short one. */
export function failuresAfterSession(failures: number, lastedMs: number): number {
  return lastedMs >= STABLE_SESSION_MS ? 0 : failures + 1;
}
