// The reconciler's suspects (daemon/attachments/reconcile.ts): kept once per attachment, and never
// more than MAX_SUSPECTS, however many DELs of made-up attachments come while a database is away.
import t from 'tap';
import { pino } from 'pino';
import { MAX_SUSPECTS, Reconciler } from '../../daemon/attachments/reconcile.ts';
import type { Attacher } from '../../daemon/attachments/context.ts';
import { KeyedLock } from '../../daemon/lib/keylock.ts';

t.test('the suspect set is bounded', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  // Not started: suspect() only records (no pass is scheduled).
  const reconciler = new Reconciler({ log } as unknown as Attacher, new KeyedLock(), { graceMs: 60_000, intervalMs: 30_000 });
  const attachment = (i: number): { containerId: string; ifName: string; network: string } => ({ containerId: `c${i}`, ifName: 'net1', network: 'red' });
  reconciler.suspect(attachment(0));
  reconciler.suspect(attachment(0));
  t.equal(reconciler.suspects, 1, 'an attachment is one suspect however often it is suspected');
  t.equal(lines.filter((l) => l['msg'] === 'kept as a suspect').length, 1, 'and logged once');
  for (let i = 1; i < MAX_SUSPECTS + 100; i++) reconciler.suspect(attachment(i));
  t.equal(reconciler.suspects, MAX_SUSPECTS, `at most ${MAX_SUSPECTS}`);
  reconciler.suspect(attachment(5));
  t.equal(reconciler.suspects, MAX_SUSPECTS, 'one already kept stays kept');
});
