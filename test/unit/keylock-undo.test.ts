import t from 'tap';
import { pino } from 'pino';
import { KeyedLock } from '../../daemon/lib/keylock.ts';
import { UndoStack } from '../../daemon/lib/undo.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('same key runs one at a time, other keys run concurrently', async (tt) => {
  const lock = new KeyedLock();
  const events: string[] = [];
  const task = (name: string, ms: number) => async () => {
    events.push(`start ${name}`);
    await sleep(ms);
    events.push(`end ${name}`);
  };
  await Promise.all([lock.run('a', task('a1', 30)), lock.run('a', task('a2', 1)), lock.run('b', task('b1', 1))]);
  tt.same(events, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2', 'end a2']);
  tt.equal(lock.size, 0, 'no key left behind');
});

t.test('a failing task releases the key', async (tt) => {
  const lock = new KeyedLock();
  await tt.rejects(lock.run('a', async () => { throw new Error('boom'); }));
  tt.equal(await lock.run('a', async () => 42), 42);
});

t.test('undo runs in reverse unless committed and survives undo errors', async (tt) => {
  const log = pino({ level: 'silent' });
  const done: string[] = [];
  const undo = new UndoStack(log);
  undo.push('one', async () => done.push('one'));
  undo.push('two', async () => { throw new Error('undo broke'); });
  undo.push('three', async () => done.push('three'));
  await undo.unwind();
  tt.same(done, ['three', 'one']);
  const kept = new UndoStack(log);
  kept.push('x', async () => done.push('x'));
  kept.commit();
  await kept.unwind();
  tt.same(done, ['three', 'one'], 'committed stack does nothing');
});
