import t from 'tap';
import { backoffMs, failuresAfterSession, MAX_BACKOFF_MS, STABLE_SESSION_MS } from '../../daemon/ovsdb/backoff.ts';

t.test('backoff: 50 ms doubling per round up to the cap, equal jitter (half fixed, half random)', async (t) => {
  const low = (rounds: number): number => backoffMs(rounds, () => 0);
  const high = (rounds: number): number => backoffMs(rounds, () => 1);
  t.same([0, 1, 2, 3, 4, 5, 6, 20].map(high), [50, 100, 200, 400, 800, 1600, MAX_BACKOFF_MS, MAX_BACKOFF_MS]);
  t.same([0, 1, 5, 6, 20].map(low), [25, 50, 800, MAX_BACKOFF_MS / 2, MAX_BACKOFF_MS / 2], 'never less than half the ceiling');
  for (let i = 0; i < 100; i++) {
    const ms = backoffMs(10);
    t.ok(ms >= MAX_BACKOFF_MS / 2 && ms <= MAX_BACKOFF_MS, `${ms} within [1000, 2000]`);
  }
  t.not(backoffMs(10), backoffMs(10), 'random: clients that lost the same server spread out');
});

t.test('a session that ends soon counts as a failure; only a stable one resets the count', async (t) => {
  t.equal(failuresAfterSession(0, 3000), 1, 'dropped after 3 s: the next connect backs off');
  t.equal(failuresAfterSession(4, 3000), 5, 'the count grows across short sessions');
  t.equal(failuresAfterSession(4, STABLE_SESSION_MS - 1), 5);
  t.equal(failuresAfterSession(4, STABLE_SESSION_MS), 0, 'a session that stayed up forgives the failures before it');
});
