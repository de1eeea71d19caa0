// Semaphore: at most `limit` at once, the rest in arrival order; a waiter that gives up leaves.
import t from 'tap';
import { Semaphore } from '../../daemon/lib/semaphore.ts';

const tick = () => new Promise((r) => setImmediate(r));

t.test('at most limit at once, then in arrival order', async (t) => {
  const sem = new Semaphore(2);
  const order: number[] = [];
  let running = 0;
  let most = 0;
  const gates = Array.from({ length: 5 }, () => Promise.withResolvers<void>());
  const runs = gates.map((gate, i) =>
    sem.run(AbortSignal.timeout(5000), async () => {
      order.push(i);
      running++;
      most = Math.max(most, running);
      await gate.promise;
      running--;
    }),
  );
  await tick();
  t.same(order, [0, 1], 'two admitted');
  t.same(sem.load, { held: 2, waiting: 3 });
  gates[1]?.resolve();
  await tick();
  t.same(order, [0, 1, 2], 'the first waiter next');
  for (const gate of gates) gate.resolve();
  await Promise.all(runs);
  t.same(order, [0, 1, 2, 3, 4]);
  t.equal(most, 2, 'never more than two');
  t.same(sem.load, { held: 0, waiting: 0 });
});

t.test('a waiter whose signal ends leaves the queue with its reason', async (t) => {
  const sem = new Semaphore(1);
  const gate = Promise.withResolvers<void>();
  const first = sem.run(AbortSignal.timeout(5000), () => gate.promise);
  const giveUp = new AbortController();
  const second = sem.run(giveUp.signal, async () => 'ran').catch((err: unknown) => err);
  const third = sem.run(AbortSignal.timeout(5000), async () => 'third');
  await tick();
  giveUp.abort(new Error('client gone'));
  t.match(await second, { message: 'client gone' });
  t.same(sem.load, { held: 1, waiting: 1 }, 'it left the queue');
  gate.resolve();
  await first;
  t.equal(await third, 'third', 'the next one runs');
  t.throws(() => new Semaphore(0), RangeError);
});

t.test('a failing holder frees its slot', async (t) => {
  const sem = new Semaphore(1);
  await t.rejects(sem.run(AbortSignal.timeout(5000), async () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.equal(await sem.run(AbortSignal.timeout(5000), async () => 1), 1);
});
