// A short soak for CI (the full one: npm run soak): ADD/DEL cycles, several at a time, with
// faults injected at random. Nothing may leak and no address may ever be live twice.
import t from 'tap';
import { e2eSkipReason } from '../helpers/node.ts';
import { runSoak } from '../helpers/soak.ts';

const skip = e2eSkipReason();

t.test('soak (short)', { skip, timeout: 240_000 }, async (t) => {
  const report = await runSoak(t, { cycles: 200, concurrency: 20, faultRate: 0.1, seed: 42 });
  t.comment(JSON.stringify(report));
  t.equal(report.duplicates, 0, 'no address live twice');
  t.same(report.leaked, { logicalPorts: 0, ovsPorts: 0, veths: 0, netns: 0 }, 'nothing leaked');
  t.ok(report.faults['daemon-kill'] + report.faults['nb-restart'] > 0, 'global faults were injected');
  t.ok(report.faults['netns-gone-before-del'] + report.faults['del-never-sent'] > 0, 'per-pod faults were injected');
  t.ok(report.addsOk >= report.cycles * 0.9, `most ADDs succeed (${report.addsOk}/${report.cycles})`);
});
